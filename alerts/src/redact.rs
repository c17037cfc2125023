//! Credentials kept out of errors, logs and API answers.
//!
//! A group robot's address is its credential: 企业微信's `key=`, 钉钉's `access_token=`,
//! 飞书's hook path. An HTTP client's error names the address it failed to reach and a
//! robot's refusal may quote it, so every delivery error passes through a [`Redactor`]
//! that knows the configured secrets before it is stored, logged or shown.

use crate::channels::ChannelConfig;
use url::Url;

/// What stands in for a credential.
pub const REDACTED: &str = "***";

/// Secrets shorter than this are not searched for: they would match ordinary text.
const MIN_SECRET_CHARS: usize = 6;

/// The credentials an address carries: its user name and password, every query value,
/// and a last path segment long enough to be a token (飞书's `/hook/<token>`).
pub fn address_secrets(url: &Url) -> Vec<String> {
    let mut secrets: Vec<String> = Vec::new();
    if !url.username().is_empty() {
        secrets.push(url.username().to_string());
    }
    if let Some(password) = url.password() {
        secrets.push(password.to_string());
    }
    for (_, value) in url.query_pairs() {
        secrets.push(value.into_owned());
    }
    // The raw (percent-encoded) query values too, as errors quote the address as sent.
    if let Some(query) = url.query() {
        for pair in query.split('&') {
            if let Some((_, raw)) = pair.split_once('=') {
                secrets.push(raw.to_string());
            }
        }
    }
    if let Some(last) = url.path_segments().and_then(|mut s| s.next_back()) {
        if last.len() >= 16 {
            secrets.push(last.to_string());
        }
    }
    secrets.retain(|s| s.chars().count() >= MIN_SECRET_CHARS);
    secrets
}

/// The address as it may be shown: credentials replaced by [`REDACTED`].
pub fn redact_address(url: &Url) -> String {
    Redactor::new(address_secrets(url)).redact(url.as_str())
}

/// Text about an address (an error naming it) with the address's credentials replaced.
pub fn redact_address_in(text: &str, url: &Url) -> String {
    Redactor::new(address_secrets(url)).redact(text)
}

/// Replaces known secrets in text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret containing another is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.chars().count() >= MIN_SECRET_CHARS)
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    /// The secrets of these channels: their addresses' credentials and their signing
    /// secrets or SMTP passwords (a secret that cannot be read is not known, and then
    /// not in any message either).
    pub fn for_channels(channels: &[ChannelConfig]) -> Self {
        Redactor::new(channels.iter().flat_map(|channel| {
            let mut secrets = channel
                .address()
                .map(|url| address_secrets(&url))
                .unwrap_or_default();
            secrets.extend(channel.secret().ok().flatten());
            secrets
        }))
    }

    /// This redactor with the credentials of one more address (a rule's webhook).
    pub fn with_address(&self, url: &Url) -> Redactor {
        Redactor::new(self.secrets.iter().cloned().chain(address_secrets(url)))
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robot_addresses_lose_their_keys_and_tokens() {
        let wecom: Url =
            "https://qyapi.example/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
                .parse()
                .unwrap();
        assert_eq!(
            redact_address(&wecom),
            "https://qyapi.example/cgi-bin/webhook/send?key=***"
        );
        let feishu: Url =
            "https://open.example/open-apis/bot/v2/hook/2b9c8a1e-0d5f-4c3b-9e7a-1f2e3d4c5b6a"
                .parse()
                .unwrap();
        assert_eq!(
            redact_address(&feishu),
            "https://open.example/open-apis/bot/v2/hook/***"
        );
        let basic: Url = "https://hook:s3cr3t-pass@hooks.example/in".parse().unwrap();
        assert_eq!(redact_address(&basic), "https://hook:***@hooks.example/in");
    }

    #[test]
    fn a_secret_is_replaced_wherever_it_is_quoted() {
        let redactor = Redactor::new(["SECabcdef123".to_string(), "tok%2Fen99".to_string()]);
        assert_eq!(
            redactor.redact("sign failed for SECabcdef123 at /send?access_token=tok%2Fen99"),
            "sign failed for *** at /send?access_token=***"
        );
        assert_eq!(redactor.redact("nothing here"), "nothing here");
    }
}
