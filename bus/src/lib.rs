//! The bus links the stages: crawler → analyzer → indexer → notifier.
//!
//! Stage code is written against [`Bus`], [`Publisher`] and [`Subscription`] and never
//! knows which transport carries its messages. The embedded transport ([`EmbeddedBus`])
//! uses bounded in-process channels, so a slow stage pushes back on the one before it
//! instead of letting a queue grow without bound. A Kafka transport implements the same
//! traits.
//!
//! On top of the byte-level traits, [`Producer`] and [`Consumer`] carry typed
//! [`Message`]s as JSON inside an [`Envelope`] that names the message kind and its schema
//! version. A payload that cannot be decoded goes to the dead-letter topic with its error
//! and original bytes; it never blocks the stream and is never silently dropped.

mod embedded;
mod typed;

pub use embedded::EmbeddedBus;
pub use typed::{Consumer, DeadLetter, Envelope, Message, Producer, Received};

use async_trait::async_trait;
use std::sync::Arc;

/// The topics of the pipeline. Their wire names come from configuration so that several
/// deployments can share one Kafka cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    pub raw: String,
    pub analyzed: String,
    pub alerts: String,
    pub dead_letter: String,
}

impl Default for Topics {
    fn default() -> Self {
        Topics {
            raw: "yuqing.raw".into(),
            analyzed: "yuqing.analyzed".into(),
            alerts: "yuqing.alerts".into(),
            dead_letter: "yuqing.dead-letter".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus is closed (topic {topic})")]
    Closed { topic: String },
    #[error(
        "topic {topic} already has a subscriber in group {group}; the embedded bus allows one"
    )]
    AlreadySubscribed { topic: String, group: String },
    #[error("unknown topic {0}")]
    UnknownTopic(String),
    #[error("bus transport error on topic {topic}: {message}")]
    Transport { topic: String, message: String },
}

/// One message taken from a subscription. `offset` identifies it for [`Subscription::commit`].
#[derive(Debug, Clone)]
pub struct Delivery {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub payload: Vec<u8>,
}

/// Sends messages to one topic.
#[async_trait]
pub trait Publisher: Send + Sync {
    /// Returns once the transport holds the message (for Kafka: the broker acknowledged
    /// it; for the embedded bus: the channel accepted it, waiting while it is full).
    async fn publish(&self, key: &str, payload: Vec<u8>) -> Result<(), BusError>;
    fn topic(&self) -> &str;
}

/// Receives messages of one topic as a member of a consumer group.
#[async_trait]
pub trait Subscription: Send {
    /// The next message, or `None` once the topic is closed and drained.
    async fn recv(&mut self) -> Result<Option<Delivery>, BusError>;
    /// Marks everything up to and including `delivery` as processed. Callers commit only
    /// after the result of processing is safe downstream.
    async fn commit(&mut self, delivery: &Delivery) -> Result<(), BusError>;
}

/// A transport: hands out publishers and subscriptions by topic name.
pub trait Bus: Send + Sync {
    fn publisher(&self, topic: &str) -> Result<Arc<dyn Publisher>, BusError>;
    fn subscribe(&self, topic: &str, group: &str) -> Result<Box<dyn Subscription>, BusError>;
}
