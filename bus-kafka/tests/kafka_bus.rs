//! The Kafka transport against a real broker (`scripts/kafka start`; the address comes
//! from `YUQING_KAFKA`). Without a broker these tests say so and pass, except in CI
//! (`CI=true`), where a missing broker is a failure.

use std::collections::BTreeSet;
use std::time::Duration;
use yuqing_bus::Bus;
use yuqing_bus_kafka::{KafkaBus, KafkaConfig};

fn broker() -> Option<String> {
    yuqing_bus_kafka::testing::broker_from_env()
}

/// A bus on topics no other test uses.
async fn bus(brokers: &str, partitions: i32) -> KafkaBus {
    let prefix = format!(
        "test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let bus = KafkaBus::new(KafkaConfig {
        brokers: brokers.to_string(),
        prefix,
        partitions,
        replication: 1,
    })
    .unwrap();
    bus.ensure_topics().await.unwrap();
    bus
}

async fn recv_n(
    sub: &mut Box<dyn yuqing_bus::Subscription>,
    n: usize,
) -> Vec<yuqing_bus::Delivery> {
    let mut out = Vec::new();
    while out.len() < n {
        let delivery = tokio::time::timeout(Duration::from_secs(30), sub.recv())
            .await
            .expect("message within 30s")
            .unwrap()
            .unwrap();
        out.push(delivery);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_messages_are_not_delivered_again_and_the_rest_are() {
    let Some(brokers) = broker() else { return };
    let bus = bus(&brokers, 1).await;
    let topic = bus.topics().raw;
    let publisher = bus.publisher(&topic).unwrap();
    for i in 0..10 {
        publisher
            .publish(&format!("doc{i}"), format!("payload {i}").into_bytes())
            .await
            .unwrap();
    }

    let mut first = bus.subscribe(&topic, "analyzer").unwrap();
    let got = recv_n(&mut first, 10).await;
    let payloads: Vec<String> = got
        .iter()
        .map(|d| String::from_utf8(d.payload.clone()).unwrap())
        .collect();
    assert_eq!(payloads[0], "payload 0");
    assert_eq!(payloads[9], "payload 9");
    assert_eq!(got[3].key, "doc3");
    // Only the first six are done; the member leaves.
    first.commit(&got[5]).await.unwrap();
    drop(first);

    let mut second = bus.subscribe(&topic, "analyzer").unwrap();
    let again = recv_n(&mut second, 4).await;
    let keys: Vec<&str> = again.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys, vec!["doc6", "doc7", "doc8", "doc9"]);

    let lag = bus.lag(&topic, "analyzer").unwrap();
    assert_eq!(lag.len(), 1);
    assert_eq!(lag[0].end, 10);
    assert_eq!(lag[0].committed, Some(6));
    assert_eq!(lag[0].lag, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_of_one_group_split_the_partitions() {
    let Some(brokers) = broker() else { return };
    let bus = bus(&brokers, 4).await;
    let topic = bus.topics().analyzed;
    let mut a = bus.subscribe(&topic, "indexer").unwrap();
    let mut b = bus.subscribe(&topic, "indexer").unwrap();
    // Let both join before anything is published, so the group has settled. A member
    // joins (and takes part in rebalances) only while it is polled.
    tokio::select! {
        _ = a.recv() => panic!("nothing was published yet"),
        _ = b.recv() => panic!("nothing was published yet"),
        _ = tokio::time::sleep(Duration::from_secs(8)) => {}
    }
    let publisher = bus.publisher(&topic).unwrap();
    let n = 200;
    for i in 0..n {
        publisher.publish(&format!("doc{i}"), vec![]).await.unwrap();
    }

    let mut seen_a = BTreeSet::new();
    let mut seen_b = BTreeSet::new();
    let mut partitions_a = BTreeSet::new();
    let mut partitions_b = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while seen_a.len() + seen_b.len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} + {} received",
            seen_a.len(),
            seen_b.len()
        );
        tokio::select! {
            Ok(Some(d)) = a.recv() => { partitions_a.insert(d.partition); a.commit(&d).await.unwrap(); seen_a.insert(d.key); }
            Ok(Some(d)) = b.recv() => { partitions_b.insert(d.partition); b.commit(&d).await.unwrap(); seen_b.insert(d.key); }
        }
    }
    assert!(
        !seen_a.is_empty() && !seen_b.is_empty(),
        "both members got work"
    );
    assert!(seen_a.is_disjoint(&seen_b), "no message went to both");
    assert!(
        partitions_a.is_disjoint(&partitions_b),
        "{partitions_a:?} / {partitions_b:?}"
    );
    assert_eq!(seen_a.len() + seen_b.len(), n);
}
