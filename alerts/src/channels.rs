//! Where alerts go: the on-call staff's group robots (企业微信, 钉钉, 飞书), generic
//! webhooks, each with the message shape and signature its API expects and the answer
//! that means "accepted" (anything else is retried), and e-mail over SMTP.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use url::Url;

/// One `[[channel]]` of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// What rules call it by, e.g. `温县值班群`.
    pub name: String,
    pub kind: ChannelKind,
    /// The robot's or webhook's address; for e-mail the mail server,
    /// `smtp://host:587` (STARTTLS required) or `smtps://host:465` (TLS from the start).
    /// A robot's address is its credential (企业微信 `key=`, 钉钉 `access_token=`, 飞书's
    /// hook path): prefer `url_env`.
    #[serde(default)]
    pub url: Option<Url>,
    /// The name of an environment variable holding the address.
    pub url_env: Option<String>,
    /// Signing secret (钉钉 加签, 飞书 签名校验, webhook HMAC), or the SMTP password.
    /// Prefer `secret_env`.
    pub secret: Option<String>,
    /// The name of an environment variable holding the secret.
    pub secret_env: Option<String>,
    /// E-mail: the SMTP login (with the secret as password).
    pub username: Option<String>,
    /// E-mail: the sender, e.g. `舆情监测 <yuqing@jyj.example.gov.cn>`.
    pub from: Option<String>,
    /// E-mail: the recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// E-mail: a PEM certificate to trust besides the public roots (a bureau's own
    /// mail server with a private certificate authority).
    pub ca_file: Option<std::path::PathBuf>,
    /// The channel is the contact for these districts (属地): a story there is sent
    /// here too, whichever rule raised it.
    #[serde(default)]
    pub districts: Vec<String>,
    /// …and for the schools of these offices (the school registry's `office`).
    #[serde(default)]
    pub offices: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// Any HTTP endpoint: the alert as JSON, signed with HMAC-SHA256 when a secret is set.
    Webhook,
    /// 企业微信群机器人.
    Wecom,
    /// 钉钉自定义机器人.
    Dingtalk,
    /// 飞书自定义机器人.
    Feishu,
    /// E-mail over SMTP (STARTTLS or TLS, with login).
    Email,
}

impl ChannelConfig {
    /// A channel with nothing but its name, kind and address set.
    pub fn new(name: &str, kind: ChannelKind, url: Url) -> Self {
        ChannelConfig {
            name: name.to_string(),
            kind,
            url: Some(url),
            url_env: None,
            secret: None,
            secret_env: None,
            username: None,
            from: None,
            to: Vec::new(),
            ca_file: None,
            districts: Vec::new(),
            offices: Vec::new(),
        }
    }

    /// Whether the channel is the contact for a story in these districts or of these
    /// offices' schools.
    pub fn covers(&self, districts: &[String], offices: &[String]) -> bool {
        self.districts.iter().any(|d| districts.contains(d))
            || self.offices.iter().any(|o| offices.contains(o))
    }

    /// The channel's address, from the configuration or the environment; an error names
    /// what is missing or wrong (never the address itself, which may be a credential).
    pub fn address(&self) -> Result<Url, String> {
        let name = &self.name;
        match (&self.url, &self.url_env) {
            (Some(_), Some(_)) => Err(format!("channel {name:?}: give url or url_env, not both")),
            (Some(url), None) => Ok(url.clone()),
            (None, Some(var)) => {
                let value = std::env::var(var).map_err(|_| {
                    format!("channel {name:?}: environment variable {var} (url_env) is not set")
                })?;
                Url::parse(value.trim()).map_err(|e| {
                    format!("channel {name:?}: environment variable {var} (url_env) is not an address: {e}")
                })
            }
            (None, None) => Err(format!("channel {name:?}: give its url or url_env")),
        }
    }

    /// What is wrong with the channel's settings for its kind, if anything.
    pub fn problem(&self) -> Option<String> {
        let name = &self.name;
        let email = self.kind == ChannelKind::Email;
        let url = match self.address() {
            Ok(url) => url,
            Err(problem) => return Some(problem),
        };
        if email {
            if !matches!(url.scheme(), "smtp" | "smtps") {
                return Some(format!(
                    "channel {name:?}: an e-mail channel's url is smtp://host:port (STARTTLS) or smtps://host:port (TLS)"
                ));
            }
            if self.to.is_empty() {
                return Some(format!(
                    "channel {name:?}: an e-mail channel needs `to` recipients"
                ));
            }
            let from = self.from.as_deref().unwrap_or("");
            if from.parse::<lettre::message::Mailbox>().is_err() {
                return Some(format!(
                    "channel {name:?}: `from` must be a mail address, got {from:?}"
                ));
            }
            if let Some(bad) = self
                .to
                .iter()
                .find(|to| to.parse::<lettre::message::Mailbox>().is_err())
            {
                return Some(format!(
                    "channel {name:?}: {bad:?} in `to` is not a mail address"
                ));
            }
        } else {
            if !matches!(url.scheme(), "http" | "https") {
                return Some(format!("channel {name:?}: url must be http(s)"));
            }
            if self.username.is_some()
                || self.from.is_some()
                || !self.to.is_empty()
                || self.ca_file.is_some()
            {
                return Some(format!(
                    "channel {name:?}: username, from, to and ca_file are for e-mail channels"
                ));
            }
        }
        None
    }

    /// The secret, from the configuration or the environment; an error names what is
    /// missing.
    pub fn secret(&self) -> Result<Option<String>, String> {
        match (&self.secret, &self.secret_env) {
            (Some(secret), _) => Ok(Some(secret.clone())),
            (None, Some(var)) => std::env::var(var).map(Some).map_err(|_| {
                format!(
                    "channel {:?}: environment variable {var} is not set",
                    self.name
                )
            }),
            (None, None) => Ok(None),
        }
    }
}

/// An HTTP request ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The request that delivers an alert on a channel. `json` is the alert as the generic
/// webhook receives it, `text` the Chinese message in the channel's markup
/// ([`crate::message::render`]), `title` its first line.
pub fn outgoing(
    channel: &ChannelConfig,
    alert_id: &str,
    json: &str,
    title: &str,
    text: &str,
    now_ms: i64,
) -> Result<Outgoing, String> {
    let secret = channel.secret()?;
    let mut url = channel.address()?;
    let mut headers = vec![(
        "Content-Type".to_string(),
        "application/json; charset=utf-8".to_string(),
    )];
    let body = match channel.kind {
        ChannelKind::Email => {
            return Err(format!(
                "channel {:?} is e-mail, not an HTTP robot",
                channel.name
            ))
        }
        ChannelKind::Webhook => {
            headers.push(("Idempotency-Key".into(), alert_id.to_string()));
            if let Some(secret) = &secret {
                // Signed over "timestamp.body", so a replayed body with a new time fails.
                let signed = format!("{now_ms}.{json}");
                headers.push(("X-Yuqing-Timestamp".into(), now_ms.to_string()));
                headers.push((
                    "X-Yuqing-Signature".into(),
                    format!(
                        "sha256={}",
                        hex::encode(hmac_sha256(secret.as_bytes(), signed.as_bytes()))
                    ),
                ));
            }
            json.to_string()
        }
        ChannelKind::Wecom => serde_json::json!({
            "msgtype": "markdown",
            "markdown": { "content": text },
        })
        .to_string(),
        ChannelKind::Dingtalk => {
            if let Some(secret) = &secret {
                let sign = base64(&hmac_sha256(
                    secret.as_bytes(),
                    format!("{now_ms}\n{secret}").as_bytes(),
                ));
                url.query_pairs_mut()
                    .append_pair("timestamp", &now_ms.to_string())
                    .append_pair("sign", &sign);
            }
            serde_json::json!({
                "msgtype": "markdown",
                "markdown": { "title": title, "text": text },
            })
            .to_string()
        }
        ChannelKind::Feishu => {
            let mut body = serde_json::json!({
                "msg_type": "text",
                "content": { "text": text },
            });
            if let Some(secret) = &secret {
                let seconds = now_ms / 1000;
                let sign = base64(&hmac_sha256(format!("{seconds}\n{secret}").as_bytes(), b""));
                body["timestamp"] = seconds.to_string().into();
                body["sign"] = sign.into();
            }
            body.to_string()
        }
    };
    Ok(Outgoing { url, headers, body })
}

/// Whether the channel accepted the alert. The robots answer HTTP 200 with an error code
/// in the body when they refuse (bad signature, rate limit, …).
pub fn accepted(kind: ChannelKind, status: u16, body: &str) -> Result<(), String> {
    if !(200..300).contains(&status) {
        return Err(format!(
            "HTTP {status}: {}",
            body.chars().take(200).collect::<String>()
        ));
    }
    let code_field = match kind {
        ChannelKind::Webhook | ChannelKind::Email => return Ok(()),
        ChannelKind::Wecom | ChannelKind::Dingtalk => "errcode",
        ChannelKind::Feishu => "code",
    };
    let answer: serde_json::Value = serde_json::from_str(body).map_err(|_| {
        format!(
            "unreadable answer: {}",
            body.chars().take(200).collect::<String>()
        )
    })?;
    // 飞书's older robots answer {"StatusCode": 0}.
    let code = answer[code_field]
        .as_i64()
        .or_else(|| answer["StatusCode"].as_i64());
    match code {
        Some(0) => Ok(()),
        Some(code) => Err(format!(
            "refused with code {code}: {}",
            answer["errmsg"]
                .as_str()
                .or(answer["msg"].as_str())
                .unwrap_or("")
        )),
        None => Err(format!(
            "answer without {code_field}: {}",
            body.chars().take(200).collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(kind: ChannelKind, secret: Option<&str>) -> ChannelConfig {
        let url = Url::parse("http://127.0.0.1:9/robot/send?access_token=t").unwrap();
        ChannelConfig {
            secret: secret.map(str::to_string),
            ..ChannelConfig::new("值班群", kind, url)
        }
    }

    #[test]
    fn dingtalk_signs_the_url_as_its_api_says() {
        let out = outgoing(
            &channel(ChannelKind::Dingtalk, Some("SEC123")),
            "a1",
            "{}",
            "标题",
            "第一行\n第二行",
            1_700_000_000_000,
        )
        .unwrap();
        let query: std::collections::HashMap<_, _> = out.url.query_pairs().into_owned().collect();
        assert_eq!(query["timestamp"], "1700000000000");
        let expected = base64(&hmac_sha256(b"SEC123", b"1700000000000\nSEC123"));
        assert_eq!(query["sign"], expected);
        assert_eq!(query["access_token"], "t");
        let body: serde_json::Value = serde_json::from_str(&out.body).unwrap();
        assert_eq!(body["msgtype"], "markdown");
        assert_eq!(body["markdown"]["title"], "标题");
    }

    #[test]
    fn feishu_and_webhook_sign_their_bodies() {
        let out = outgoing(
            &channel(ChannelKind::Feishu, Some("s")),
            "a1",
            "{}",
            "t",
            "正文",
            1_700_000_000_999,
        )
        .unwrap();
        let body: serde_json::Value = serde_json::from_str(&out.body).unwrap();
        assert_eq!(body["timestamp"], "1700000000");
        assert_eq!(body["sign"], base64(&hmac_sha256(b"1700000000\ns", b"")));
        assert_eq!(body["content"]["text"], "正文");

        let out = outgoing(
            &channel(ChannelKind::Webhook, Some("k")),
            "a1",
            "{\"x\":1}",
            "t",
            "正文",
            5,
        )
        .unwrap();
        let header = |name: &str| {
            out.headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(header("Idempotency-Key").as_deref(), Some("a1"));
        let signature = format!("sha256={}", hex::encode(hmac_sha256(b"k", b"5.{\"x\":1}")));
        assert_eq!(header("X-Yuqing-Signature"), Some(signature));
        assert_eq!(out.body, "{\"x\":1}");
    }

    #[test]
    fn robot_answers_are_read_for_their_error_codes() {
        assert!(accepted(ChannelKind::Wecom, 200, r#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        let limited = accepted(
            ChannelKind::Wecom,
            200,
            r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#,
        )
        .unwrap_err();
        assert!(limited.contains("45009"), "{limited}");
        assert!(accepted(
            ChannelKind::Dingtalk,
            200,
            r#"{"errcode":310000,"errmsg":"sign not match"}"#
        )
        .is_err());
        assert!(accepted(ChannelKind::Feishu, 200, r#"{"code":0,"msg":"success"}"#).is_ok());
        assert!(accepted(ChannelKind::Feishu, 200, r#"{"StatusCode":0}"#).is_ok());
        assert!(accepted(
            ChannelKind::Feishu,
            200,
            r#"{"code":9499,"msg":"too many requests"}"#
        )
        .is_err());
        assert!(accepted(ChannelKind::Webhook, 503, "busy").is_err());
        assert!(accepted(ChannelKind::Webhook, 204, "").is_ok());
    }

    #[test]
    fn email_settings_are_checked_for_their_kind() {
        let mut mail = channel(ChannelKind::Email, Some("pw"));
        mail.url = Some(Url::parse("smtp://mail.example.gov.cn:587").unwrap());
        mail.from = Some("舆情监测 <yuqing@example.gov.cn>".into());
        mail.to = vec!["duty@example.gov.cn".into()];
        assert_eq!(mail.problem(), None);
        let mut no_to = mail.clone();
        no_to.to.clear();
        assert!(no_to.problem().unwrap().contains("needs `to`"));
        let mut bad_to = mail.clone();
        bad_to.to.push("值班员".into());
        assert!(bad_to.problem().unwrap().contains("\"值班员\" in `to`"));
        let mut http = mail.clone();
        http.url = Some(Url::parse("http://mail.example.gov.cn").unwrap());
        assert!(http.problem().unwrap().contains("smtp://"));
        let mut robot = channel(ChannelKind::Wecom, None);
        assert_eq!(robot.problem(), None);
        robot.to = vec!["duty@example.gov.cn".into()];
        assert!(robot.problem().unwrap().contains("for e-mail channels"));
    }

    #[test]
    fn a_missing_secret_variable_is_named() {
        let mut c = channel(ChannelKind::Dingtalk, None);
        c.secret_env = Some("YUQING_TEST_NO_SUCH_VARIABLE".into());
        let err = outgoing(&c, "a", "{}", "t", "x", 0).unwrap_err();
        assert!(err.contains("YUQING_TEST_NO_SUCH_VARIABLE"), "{err}");
    }
}
