//! Pupils' names, so that alert messages can mask them: stories about schools name
//! children, and a name does not need to leave the system for on-call staff to act.
//!
//! A name here is a word of two or three Chinese characters starting with a common
//! surname that jieba takes for a name (tagged `nr` in its dictionary, or put together by
//! its statistics), in a sentence that speaks of pupils or children. It misses names written another way and may take a
//! rare word for a name; masking a word too many is the safe error.

use crate::segmented::{ByWord, Segmented, Vocabulary, WordId};
use yuqing_model::TextField;
use yuqing_segmenter::Segmenter;

/// The commonest Chinese surnames (single characters).
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝";

/// Words that make a sentence about pupils or children.
const MINOR_WORDS: &[&str] = &[
    "学生",
    "同学",
    "小学生",
    "初中生",
    "中学生",
    "高中生",
    "学童",
    "幼儿",
    "孩子",
    "女孩",
    "男孩",
    "女生",
    "男生",
    "少年",
    "儿童",
    "未成年人",
    "患儿",
    "小朋友",
];

fn is_surname(c: char) -> bool {
    static SORTED: std::sync::LazyLock<Vec<char>> = std::sync::LazyLock::new(|| {
        let mut surnames: Vec<char> = SURNAMES.chars().collect();
        surnames.sort_unstable();
        surnames
    });
    SORTED.binary_search(&c).is_ok()
}

fn is_chinese(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// Recognises pupils' names; its words are looked up by vocabulary id like every
/// tagger's, so a document without them costs one pass over its tokens.
#[derive(Debug, Default)]
pub struct MinorNames {
    minor_words: ByWord<()>,
}

impl MinorNames {
    pub fn new(vocabulary: &mut Vocabulary) -> Self {
        let mut minor_words = ByWord::default();
        for word in MINOR_WORDS {
            minor_words.entry(vocabulary.intern(word), || ());
        }
        MinorNames { minor_words }
    }

    /// The pupils' names the document mentions, each once, in order.
    pub(crate) fn find(&self, segmenter: &Segmenter, doc: &Segmented) -> Vec<String> {
        minors(segmenter, doc, |id| self.minor_words.contains(id))
    }
}

fn minors(
    segmenter: &Segmenter,
    doc: &Segmented,
    is_minor_word: impl Fn(WordId) -> bool,
) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for field in [TextField::Title, TextField::Content] {
        let tokens = doc.tokens(field);
        // The sentences that speak of pupils, from the known words; then only their
        // words are looked at.
        let mut last_sentence = None;
        for (token, id) in doc.known(field) {
            if !is_minor_word(id) || last_sentence == Some(token.sentence) {
                continue;
            }
            let sentence = token.sentence;
            last_sentence = Some(sentence);
            let from = tokens.partition_point(|t| t.sentence < sentence);
            let to = tokens.partition_point(|t| t.sentence <= sentence);
            for token in &tokens[from..to] {
                let text = token.word.text;
                // Two or three Chinese characters, three bytes each.
                let looks_like_a_name = matches!(text.len(), 6 | 9)
                    && text.chars().all(is_chinese)
                    && text.chars().next().is_some_and(is_surname)
                    && segmenter.may_be_a_name(text);
                if looks_like_a_name && !names.iter().any(|n| n == text) {
                    names.push(text.to_string());
                }
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_sentences_about_pupils_are_found() {
        let mut vocabulary = Vocabulary::default();
        let names = MinorNames::new(&mut vocabulary);
        let mut segmenter = Segmenter::new();
        segmenter.add_words(vocabulary.words());
        let minors = |segmenter: &Segmenter, doc: &Segmented| names.find(segmenter, doc);
        let doc = Segmented::new(
            &segmenter,
            &vocabulary,
            "初二学生王小明被同学殴打",
            "校长李建国表示将严肃处理。据悉，被打学生王小明已经送医，同学张晓燕目睹了经过。",
        );
        assert_eq!(minors(&segmenter, &doc), ["王小明", "张晓燕"]);
        let about_adults = Segmented::new(&segmenter, &vocabulary, "", "市长王建军到学校调研。");
        assert!(
            minors(&segmenter, &about_adults).is_empty(),
            "no pupil in the sentence"
        );
    }
}
