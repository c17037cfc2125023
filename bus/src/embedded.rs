//! The embedded transport: one bounded channel per topic, inside one process.

use crate::{Bus, BusError, Delivery, Publisher, Subscription};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;

struct TopicChannel {
    /// Kept until [`EmbeddedBus::close`] so that publishers can be created late.
    sender: Option<mpsc::Sender<Delivery>>,
    receiver: Option<mpsc::Receiver<Delivery>>,
    next_offset: Arc<AtomicI64>,
}

/// In-process bus. Each topic is a bounded channel of `capacity` messages: a publisher
/// waits while the channel is full, which is how back-pressure reaches the crawler.
///
/// Each topic has one consumer group with one member, which is all a single process
/// needs; scaling out is the Kafka transport's job.
pub struct EmbeddedBus {
    capacity: usize,
    topics: Mutex<HashMap<String, TopicChannel>>,
}

impl EmbeddedBus {
    pub fn new(capacity: usize) -> Self {
        EmbeddedBus {
            capacity: capacity.max(1),
            topics: Mutex::new(HashMap::new()),
        }
    }

    fn with_topic<R>(&self, topic: &str, f: impl FnOnce(&mut TopicChannel) -> R) -> R {
        let mut topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        let channel = topics.entry(topic.to_string()).or_insert_with(|| {
            let (sender, receiver) = mpsc::channel(self.capacity);
            TopicChannel {
                sender: Some(sender),
                receiver: Some(receiver),
                next_offset: Arc::new(AtomicI64::new(0)),
            }
        });
        f(channel)
    }

    /// Stops handing out publishers. A topic's subscription ends (`recv` returns `None`)
    /// once every publisher created before has been dropped and the channel is drained,
    /// so stages shut down in flow order without losing what is in flight.
    pub fn close(&self) {
        let mut topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        for channel in topics.values_mut() {
            channel.sender = None;
        }
    }
}

impl Bus for EmbeddedBus {
    fn publisher(&self, topic: &str) -> Result<Arc<dyn Publisher>, BusError> {
        self.with_topic(topic, |channel| match &channel.sender {
            Some(sender) => Ok(Arc::new(EmbeddedPublisher {
                topic: topic.to_string(),
                sender: sender.clone(),
                next_offset: channel.next_offset.clone(),
            }) as Arc<dyn Publisher>),
            None => Err(BusError::Closed {
                topic: topic.to_string(),
            }),
        })
    }

    fn subscribe(&self, topic: &str, group: &str) -> Result<Box<dyn Subscription>, BusError> {
        self.with_topic(topic, |channel| match channel.receiver.take() {
            Some(receiver) => {
                Ok(Box::new(EmbeddedSubscription { receiver }) as Box<dyn Subscription>)
            }
            None => Err(BusError::AlreadySubscribed {
                topic: topic.to_string(),
                group: group.to_string(),
            }),
        })
    }
}

struct EmbeddedPublisher {
    topic: String,
    sender: mpsc::Sender<Delivery>,
    next_offset: Arc<AtomicI64>,
}

#[async_trait]
impl Publisher for EmbeddedPublisher {
    async fn publish(&self, key: &str, payload: Vec<u8>) -> Result<(), BusError> {
        // Reserve the slot first so that offsets follow channel order.
        let permit = self.sender.reserve().await.map_err(|_| BusError::Closed {
            topic: self.topic.clone(),
        })?;
        permit.send(Delivery {
            topic: self.topic.clone(),
            partition: 0,
            offset: self.next_offset.fetch_add(1, Ordering::Relaxed),
            key: key.to_string(),
            payload,
        });
        Ok(())
    }

    fn topic(&self) -> &str {
        &self.topic
    }
}

struct EmbeddedSubscription {
    receiver: mpsc::Receiver<Delivery>,
}

#[async_trait]
impl Subscription for EmbeddedSubscription {
    async fn recv(&mut self) -> Result<Option<Delivery>, BusError> {
        Ok(self.receiver.recv().await)
    }

    async fn commit(&mut self, _delivery: &Delivery) -> Result<(), BusError> {
        // In one process a message that was received is owned by the stage that took it;
        // there is no broker to tell.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn delivers_in_order_and_ends_after_close() {
        let bus = EmbeddedBus::new(4);
        let mut sub = bus.subscribe("t", "g").unwrap();
        let publisher = bus.publisher("t").unwrap();
        for i in 0..3 {
            publisher.publish(&format!("k{i}"), vec![i]).await.unwrap();
        }
        bus.close();
        drop(publisher);
        let mut seen = Vec::new();
        while let Some(d) = sub.recv().await.unwrap() {
            seen.push((d.key, d.offset, d.payload));
        }
        assert_eq!(
            seen,
            vec![
                ("k0".to_string(), 0, vec![0]),
                ("k1".to_string(), 1, vec![1]),
                ("k2".to_string(), 2, vec![2])
            ]
        );
        assert!(matches!(bus.publisher("t"), Err(BusError::Closed { .. })));
    }

    #[tokio::test]
    async fn full_channel_makes_the_publisher_wait() {
        let bus = EmbeddedBus::new(2);
        let mut sub = bus.subscribe("t", "g").unwrap();
        let publisher = bus.publisher("t").unwrap();
        publisher.publish("a", vec![]).await.unwrap();
        publisher.publish("b", vec![]).await.unwrap();
        let third =
            tokio::time::timeout(Duration::from_millis(100), publisher.publish("c", vec![])).await;
        assert!(third.is_err(), "a third message must wait for room");
        sub.recv().await.unwrap().unwrap();
        tokio::time::timeout(Duration::from_secs(1), publisher.publish("c", vec![]))
            .await
            .expect("room was made")
            .unwrap();
    }

    #[test]
    fn a_second_subscriber_is_refused() {
        let bus = EmbeddedBus::new(2);
        let _first = bus.subscribe("t", "g").unwrap();
        assert!(matches!(
            bus.subscribe("t", "g"),
            Err(BusError::AlreadySubscribed { .. })
        ));
    }
}
