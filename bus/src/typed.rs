//! Typed messages over the byte-level bus: JSON envelopes with a kind and schema version,
//! and dead-lettering of whatever cannot be decoded or processed.

use crate::{Bus, BusError, Delivery, Publisher, Subscription};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A message that crosses a stage boundary.
pub trait Message: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Names the message type on the wire, so a message sent to the wrong topic is
    /// recognised instead of half-decoded.
    const KIND: &'static str;
    /// Raised whenever the meaning of the body changes. A consumer refuses (dead-letters)
    /// bodies newer than it understands.
    const SCHEMA_VERSION: u32;
    /// The partitioning key: the document id for documents.
    fn key(&self) -> &str;
}

/// What travels on the wire: `{"kind": …, "schema_version": …, "body": {…}}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub kind: String,
    pub schema_version: u32,
    pub body: T,
}

#[derive(Deserialize)]
struct EnvelopeHeader {
    kind: String,
    schema_version: u32,
}

impl<T: Message> Envelope<T> {
    pub fn encode(message: &T) -> Vec<u8> {
        #[derive(Serialize)]
        struct Borrowed<'a, T> {
            kind: &'static str,
            schema_version: u32,
            body: &'a T,
        }
        serde_json::to_vec(&Borrowed {
            kind: T::KIND,
            schema_version: T::SCHEMA_VERSION,
            body: message,
        })
        .expect("message types serialize infallibly")
    }

    /// Decodes a payload, checking kind and schema version before the body so that the
    /// error says what is really wrong.
    pub fn decode(payload: &[u8]) -> Result<T, String> {
        let header: EnvelopeHeader =
            serde_json::from_slice(payload).map_err(|e| format!("not a message envelope: {e}"))?;
        if header.kind != T::KIND {
            return Err(format!(
                "expected message kind {:?}, got {:?}",
                T::KIND,
                header.kind
            ));
        }
        if header.schema_version > T::SCHEMA_VERSION {
            return Err(format!(
                "{} schema version {} is newer than this build understands ({})",
                T::KIND,
                header.schema_version,
                T::SCHEMA_VERSION
            ));
        }
        let envelope: Envelope<T> =
            serde_json::from_slice(payload).map_err(|e| format!("bad {} body: {e}", T::KIND))?;
        Ok(envelope.body)
    }
}

/// A message that could not be decoded or processed, with where it came from and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeadLetter {
    /// The stage that gave up on the message.
    pub stage: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub error: String,
    /// The original payload, as text where it was UTF-8.
    pub payload: String,
    /// Set when the original payload was not UTF-8 and `payload` is therefore lossy.
    pub payload_lossy: bool,
    pub failed_at_unix_ms: i64,
}

impl Message for DeadLetter {
    const KIND: &'static str = "dead_letter";
    const SCHEMA_VERSION: u32 = 1;
    fn key(&self) -> &str {
        &self.key
    }
}

/// Publishes typed messages to one topic.
pub struct Producer<T> {
    publisher: Arc<dyn Publisher>,
    _message: PhantomData<fn(T)>,
}

impl<T> Clone for Producer<T> {
    fn clone(&self) -> Self {
        Producer {
            publisher: self.publisher.clone(),
            _message: PhantomData,
        }
    }
}

impl<T: Message> Producer<T> {
    pub fn new(bus: &dyn Bus, topic: &str) -> Result<Self, BusError> {
        Ok(Producer {
            publisher: bus.publisher(topic)?,
            _message: PhantomData,
        })
    }

    pub async fn send(&self, message: &T) -> Result<(), BusError> {
        self.publisher
            .publish(message.key(), Envelope::encode(message))
            .await
    }

    pub fn topic(&self) -> &str {
        self.publisher.topic()
    }
}

/// A decoded message together with the delivery to commit once it is handled.
pub struct Received<T> {
    pub message: T,
    pub delivery: Delivery,
}

/// Receives typed messages of one topic; payloads that do not decode are sent to the
/// dead-letter topic (and committed) without reaching the stage.
pub struct Consumer<T> {
    stage: String,
    subscription: Box<dyn Subscription>,
    dead_letters: Producer<DeadLetter>,
    /// An undecodable delivery whose dead-lettering has not finished yet. Kept here so
    /// that `recv` stays cancel-safe: a cancelled call resumes the hand-over next time.
    undecodable: Option<(Delivery, String)>,
    _message: PhantomData<fn() -> T>,
}

impl<T: Message> Consumer<T> {
    pub fn new(
        bus: &dyn Bus,
        topic: &str,
        group: &str,
        dead_letter_topic: &str,
    ) -> Result<Self, BusError> {
        Ok(Consumer {
            stage: group.to_string(),
            subscription: bus.subscribe(topic, group)?,
            dead_letters: Producer::new(bus, dead_letter_topic)?,
            undecodable: None,
            _message: PhantomData,
        })
    }

    /// The next decodable message, or `None` when the topic has ended.
    ///
    /// Cancel-safe (usable in `select!`): no message is lost when the call is dropped.
    pub async fn recv(&mut self) -> Result<Option<Received<T>>, BusError> {
        loop {
            if let Some((delivery, error)) = &self.undecodable {
                let (delivery, error) = (delivery.clone(), error.clone());
                self.dead_letter(&delivery, &error).await?;
                self.undecodable = None;
            }
            let Some(delivery) = self.subscription.recv().await? else {
                return Ok(None);
            };
            match Envelope::<T>::decode(&delivery.payload) {
                Ok(message) => return Ok(Some(Received { message, delivery })),
                Err(error) => self.undecodable = Some((delivery, error)),
            }
        }
    }

    pub async fn commit(&mut self, delivery: &Delivery) -> Result<(), BusError> {
        self.subscription.commit(delivery).await
    }

    /// Hands a message the stage cannot process to the dead-letter topic, then commits it
    /// so the stream moves on.
    pub async fn dead_letter(&mut self, delivery: &Delivery, error: &str) -> Result<(), BusError> {
        tracing::warn!(
            stage = %self.stage,
            topic = %delivery.topic,
            offset = delivery.offset,
            key = %delivery.key,
            error,
            "message sent to dead-letter topic"
        );
        let (payload, payload_lossy) = match std::str::from_utf8(&delivery.payload) {
            Ok(text) => (text.to_string(), false),
            Err(_) => (
                String::from_utf8_lossy(&delivery.payload).into_owned(),
                true,
            ),
        };
        let letter = DeadLetter {
            stage: self.stage.clone(),
            topic: delivery.topic.clone(),
            partition: delivery.partition,
            offset: delivery.offset,
            key: delivery.key.clone(),
            error: error.to_string(),
            payload,
            payload_lossy,
            failed_at_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or_default(),
        };
        self.dead_letters.send(&letter).await?;
        self.subscription.commit(delivery).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmbeddedBus;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Ping {
        id: String,
        n: u32,
    }

    impl Message for Ping {
        const KIND: &'static str = "ping";
        const SCHEMA_VERSION: u32 = 2;
        fn key(&self) -> &str {
            &self.id
        }
    }

    #[test]
    fn envelope_round_trips_and_names_what_is_wrong() {
        let ping = Ping {
            id: "a".into(),
            n: 7,
        };
        let bytes = Envelope::encode(&ping);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"kind":"ping","schema_version":2,"body":{"id":"a","n":7}}"#
        );
        assert_eq!(Envelope::<Ping>::decode(&bytes).unwrap(), ping);

        let newer = br#"{"kind":"ping","schema_version":3,"body":{}}"#;
        assert!(Envelope::<Ping>::decode(newer)
            .unwrap_err()
            .contains("newer"));
        let wrong_kind = br#"{"kind":"pong","schema_version":1,"body":{}}"#;
        assert!(Envelope::<Ping>::decode(wrong_kind)
            .unwrap_err()
            .contains("\"pong\""));
        let bad_body = br#"{"kind":"ping","schema_version":2,"body":{"id":"a"}}"#;
        assert!(Envelope::<Ping>::decode(bad_body)
            .unwrap_err()
            .contains("missing field `n`"));
    }

    #[tokio::test]
    async fn undecodable_payloads_go_to_the_dead_letter_topic_and_the_stream_continues() {
        let bus = EmbeddedBus::new(8);
        let mut consumer: Consumer<Ping> = Consumer::new(&bus, "in", "stage", "dead").unwrap();
        let mut dead: Consumer<DeadLetter> = Consumer::new(&bus, "dead", "audit", "dead2").unwrap();
        let raw = bus.publisher("in").unwrap();
        raw.publish("x", b"\xff not json".to_vec()).await.unwrap();
        Producer::new(&bus, "in")
            .unwrap()
            .send(&Ping {
                id: "b".into(),
                n: 1,
            })
            .await
            .unwrap();

        let got = consumer.recv().await.unwrap().unwrap();
        assert_eq!(
            got.message,
            Ping {
                id: "b".into(),
                n: 1
            }
        );
        let letter = dead.recv().await.unwrap().unwrap().message;
        assert_eq!(letter.key, "x");
        assert_eq!(letter.offset, 0);
        assert!(letter.payload_lossy);
        assert!(
            letter.error.contains("not a message envelope"),
            "{}",
            letter.error
        );
    }
}
