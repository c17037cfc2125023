//! E-mail delivery over SMTP with lettre: STARTTLS (`smtp://`) or TLS from the start
//! (`smtps://`), login with the channel's username and secret. Plain-text SMTP is not
//! offered: alerts name schools and pupils.

use crate::channels::ChannelConfig;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Sends one alert message. Its Message-ID is made of the alert id and the channel, so
/// a mail system that sees a retry of an accepted message can tell it is the same one.
pub async fn send(
    channel: &ChannelConfig,
    alert_id: &str,
    subject: &str,
    text: &str,
) -> Result<(), String> {
    let name = &channel.name;
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{what}: {e}");
    let from: Mailbox = channel
        .from
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|e| fail("from", &e))?;
    let mut message = Message::builder()
        .from(from)
        .subject(subject)
        .message_id(Some(message_id(alert_id, name)))
        .header(ContentType::TEXT_PLAIN);
    for to in &channel.to {
        message = message.to(to.parse().map_err(|e| fail("to", &e))?);
    }
    let message = message
        .body(text.to_string())
        .map_err(|e| fail("message", &e))?;

    let url = channel.address()?;
    let host = url
        .host_str()
        .ok_or_else(|| "the url has no host".to_string())?
        .to_string();
    let implicit_tls = url.scheme() == "smtps";
    let port = url.port().unwrap_or(if implicit_tls { 465 } else { 587 });
    let mut tls = TlsParameters::builder(host.clone());
    if let Some(path) = &channel.ca_file {
        let pem = std::fs::read(path).map_err(|e| fail(&path.display().to_string(), &e))?;
        tls =
            tls.add_root_certificate(Certificate::from_pem(&pem).map_err(|e| fail("ca_file", &e))?);
    }
    let tls = tls.build_rustls().map_err(|e| fail("TLS", &e))?;
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .tls(if implicit_tls {
            Tls::Wrapper(tls)
        } else {
            Tls::Required(tls)
        })
        .timeout(Some(Duration::from_secs(20)));
    if let Some(user) = &channel.username {
        let password = channel.secret()?.unwrap_or_default();
        // PLAIN, inside TLS: every current server offers it, and one mechanism means a
        // refused login is one clear answer.
        transport = transport
            .credentials(Credentials::new(user.clone(), password))
            .authentication(vec![Mechanism::Plain]);
    }
    // lettre's timeout covers each read and write; a server that stalls between them
    // must not stall the other deliveries either.
    match tokio::time::timeout(SEND_LIMIT, transport.build().send(message)).await {
        Ok(sent) => sent.map(|_| ()).map_err(|e| fail("SMTP", &e)),
        Err(_) => Err(format!("SMTP: no answer within {}s", SEND_LIMIT.as_secs())),
    }
}

const SEND_LIMIT: Duration = Duration::from_secs(60);

/// `<alert.channel-hash@yuqing>`: a Message-ID's left part holds ASCII letters, digits
/// and a few signs only, so the channel (often a Chinese name) is given by its hash.
fn message_id(alert_id: &str, channel: &str) -> String {
    let alert: String = alert_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let channel = yuqing_model::stable_hash(channel.bytes());
    format!("<{alert}.{channel:016x}@yuqing>")
}
