//! Which stages a process runs (`--role`), and a crawler's share of the sources
//! (`--shard K/N`).

/// Which stages a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    All,
    Crawler,
    Analyzer,
    /// The indexer, the alert evaluator (it judges each index commit) and the desk API.
    Indexer,
    Notifier,
}

impl Role {
    pub fn runs(self, stage: Role) -> bool {
        self == Role::All || self == stage
    }
}

/// `K/N`: the K-th of N crawler processes. Each source belongs to exactly one shard (by
/// a stable hash of its name), so N crawlers share the sources without coordination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("a shard is K/N with 1 ≤ K ≤ N, like 2/3; got `{text}`");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    pub fn owns(&self, source_name: &str) -> bool {
        let hash = yuqing_model::stable_hash(source_name.bytes());
        hash % u64::from(self.count) == u64::from(self.index - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::Shard;

    #[test]
    fn every_source_belongs_to_exactly_one_shard() {
        let names: Vec<String> = (0..200).map(|i| format!("信源{i}")).collect();
        let shards: Vec<Shard> = (1..=3).map(|k| format!("{k}/3").parse().unwrap()).collect();
        let mut per_shard = [0; 3];
        for name in &names {
            let owners: Vec<usize> = (0..3).filter(|&i| shards[i].owns(name)).collect();
            assert_eq!(owners.len(), 1, "{name}");
            per_shard[owners[0]] += 1;
        }
        assert!(
            per_shard.iter().all(|&n| n > 40),
            "roughly even: {per_shard:?}"
        );
        assert!("0/3".parse::<Shard>().is_err());
        assert!("4/3".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().unwrap_err().contains("K/N"));
    }
}
