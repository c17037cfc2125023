//! Reprints (转载): copies of one story on other sources, grouped into a cluster whose id
//! is the id of the first document seen.
//!
//! Reprints copy paragraphs: they drop some, change the headline and the 「来源」 line, but
//! the paragraphs they keep are the same words. So each paragraph of 15 or more
//! characters gets a fingerprint (a hash of its text without spaces and punctuation), and
//! a document joins the cluster of an earlier one when they share two fingerprints, or
//! one when either has a single paragraph.

use std::collections::HashMap;

/// Paragraphs shorter than this (bylines, captions) say nothing about a story.
const MIN_PARAGRAPH_CHARS: usize = 15;
/// Enough fingerprints to recognise a copy; long articles are not fingerprinted whole.
const MAX_FINGERPRINTS: usize = 40;

/// The fingerprints of the paragraphs (lines) of a body.
pub fn fingerprints(content: &str) -> Vec<u64> {
    let mut prints: Vec<u64> = content
        .lines()
        .map(|line| {
            line.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
        })
        .filter(|text| text.chars().count() >= MIN_PARAGRAPH_CHARS)
        // A stable hash: fingerprints in the index stay comparable after an upgrade.
        .map(|text| yuqing_model::stable_hash(text.bytes()))
        .take(MAX_FINGERPRINTS)
        .collect();
    prints.sort_unstable();
    prints.dedup();
    prints
}

/// How many shared fingerprints make two documents one story.
pub fn needed(a: usize, b: usize) -> usize {
    if a.min(b) <= 1 {
        1
    } else {
        2
    }
}

/// The term a fingerprint is indexed as.
pub fn term_text(print: u64) -> String {
    format!("{print:016x}")
}

/// How many of a document's fingerprints are looked up to find its story: enough to
/// meet [`needed`] when a few paragraphs were dropped, few enough to stay cheap.
pub const LOOKUPS: usize = 8;

/// The cluster sharing the most fingerprints, if it shares enough. `found` holds, per
/// looked-up fingerprint, the cluster of a document having it and that document's
/// number of fingerprints.
pub fn best_cluster(
    prints: usize,
    found: impl IntoIterator<Item = (String, usize)>,
) -> Option<String> {
    let mut shared: HashMap<String, (usize, usize)> = HashMap::new();
    for (cluster, their_prints) in found {
        let entry = shared.entry(cluster).or_insert((0, their_prints));
        entry.0 += 1;
    }
    shared
        .into_iter()
        .filter(|(_, (n, theirs))| *n >= needed(prints, *theirs))
        .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then_with(|| b.0.cmp(&a.0)))
        .map(|(cluster, _)| cluster)
}

/// Fingerprints of documents indexed but not yet committed (invisible to searches), so
/// reprints arriving in one batch still find each other. Each fingerprint remembers the
/// first document that had it, so a lookup costs the same however common a paragraph is.
#[derive(Default)]
pub struct PendingPrints {
    by_print: HashMap<u64, (String, usize)>,
    /// Documents of each cluster in the batch.
    members: HashMap<String, u64>,
}

impl PendingPrints {
    pub fn cluster_for(&self, prints: &[u64]) -> Option<String> {
        best_cluster(
            prints.len(),
            prints
                .iter()
                .take(LOOKUPS)
                .filter_map(|p| self.by_print.get(p).cloned()),
        )
    }

    /// How many documents of `cluster` the batch holds.
    pub fn members(&self, cluster: &str) -> u64 {
        self.members.get(cluster).copied().unwrap_or(0)
    }

    pub fn add(&mut self, cluster: &str, prints: &[u64]) {
        *self.members.entry(cluster.to_string()).or_default() += 1;
        for print in prints {
            self.by_print
                .entry(*print)
                .or_insert_with(|| (cluster.to_string(), prints.len()));
        }
    }

    pub fn clear(&mut self) {
        self.by_print.clear();
        self.members.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_paragraphs_match_whatever_the_punctuation_and_short_lines_are_ignored() {
        let original = "11月19日晚，温县某中学多名住校学生在学校食堂就餐后出现腹泻。\n县教育局已介入调查，涉事食堂暂停营业，留样食品已送检。\n（记者 王晓明）";
        let reprint = "11月19日晚 温县某中学多名住校学生在学校食堂就餐后出现腹泻\n来源：焦作日报\n县教育局已介入调查,涉事食堂暂停营业,留样食品已送检.";
        let a = fingerprints(original);
        let b = fingerprints(reprint);
        assert_eq!(a.len(), 2, "the byline is too short to count");
        assert_eq!(a, b);

        let mut pending = PendingPrints::default();
        pending.add("first", &a);
        assert_eq!(pending.cluster_for(&b).as_deref(), Some("first"));
        assert_eq!(
            pending.cluster_for(&fingerprints(
                "完全不同的另一篇新闻报道内容，讲的是太极拳文化交流。"
            )),
            None
        );
        assert_eq!(needed(1, 5), 1);
        assert_eq!(needed(3, 5), 2);
    }
}
