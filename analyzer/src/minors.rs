//! Pupils' names, so that alert messages can mask them: stories about schools name
//! children, and a name does not need to leave the system for on-call staff to act.
//!
//! A name here is a word of two or three Chinese characters starting with a common
//! surname that jieba takes for a name (tagged `nr` in its dictionary, or put together by
//! its statistics), in a sentence that speaks of pupils or children. It misses names written another way and may take a
//! rare word for a name; masking a word too many is the safe error.

use crate::segmented::{ByWord, Segmented, Vocabulary, WordId};
use crate::utf8::three_byte_value;
use yuqing_model::{SmolStr, TextField};
use yuqing_segmenter::{starts_with_ideograph, Segmenter};

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

/// Whether the character with this code point is a surname.
#[inline(always)]
fn is_surname(code_point: u32) -> bool {
    let at = (code_point as usize).wrapping_sub(CJK_FIRST);
    at < CJK_SIZE && SURNAME_BITS[at / 64] & (1 << (at % 64)) != 0
}

const CJK_FIRST: usize = 0x4e00;
const CJK_SIZE: usize = 0x9fff - 0x4e00 + 1;

/// One bit per character of the CJK block (U+4E00–U+9FFF), set for the surnames; built
/// when compiling, as this is asked of every two- and three-character word.
static SURNAME_BITS: [u64; CJK_SIZE.div_ceil(64)] = {
    let mut bits = [0u64; CJK_SIZE.div_ceil(64)];
    let bytes = SURNAMES.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Every surname is a three-byte UTF-8 character of the CJK block.
        let at = three_byte_value(bytes[i], bytes[i + 1], bytes[i + 2]) as usize - CJK_FIRST;
        bits[at / 64] |= 1 << (at % 64);
        i += 3;
    }
    bits
};

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
    pub(crate) fn find(&self, segmenter: &Segmenter, doc: &Segmented) -> Vec<SmolStr> {
        minors(segmenter, doc, |id| self.minor_words.contains(id))
    }
}

fn minors(
    segmenter: &Segmenter,
    doc: &Segmented,
    is_minor_word: impl Fn(WordId) -> bool,
) -> Vec<SmolStr> {
    let mut names: Vec<SmolStr> = Vec::new();
    for field in [TextField::Title, TextField::Content] {
        if doc.name_shaped(field).is_empty() {
            continue;
        }
        // The sentences that speak of pupils (in order, each once).
        let mut about_minors: Vec<u32> = doc
            .known(field)
            .filter(|(_, id)| is_minor_word(*id))
            .map(|(token, _)| token.sentence)
            .collect();
        about_minors.dedup();
        for token in doc.name_shaped(field) {
            let text = token.word.text;
            if about_minors.binary_search(&token.sentence).is_ok()
                && segmenter.may_be_a_name(text)
                && !names.iter().any(|n| n == text)
            {
                names.push(SmolStr::new(text));
            }
        }
    }
    names
}

/// Whether a word has the shape of a Chinese name: two or three Chinese characters, the
/// first a common surname. Asked of every word of every document, so it looks at bytes
/// only: a Chinese character here is three bytes, told by its first two.
#[inline]
pub(crate) fn is_name_shaped(word: &str) -> bool {
    // The surname first: of the three conditions, it is the one that most words fail,
    // so the test's outcome is easy to predict.
    let bytes = word.as_bytes();
    bytes.len() >= 3
        && starts_with_ideograph(bytes)
        && is_surname(three_byte_value(bytes[0], bytes[1], bytes[2]))
        && matches!(bytes.len(), 6 | 9)
        && bytes.chunks_exact(3).all(starts_with_ideograph)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_surname_bits_hold_exactly_the_listed_surnames() {
        let listed: std::collections::BTreeSet<char> = SURNAMES.chars().collect();
        for c in '\u{4e00}'..='\u{9fff}' {
            assert_eq!(is_surname(c as u32), listed.contains(&c), "{c}");
        }
        assert!(!is_surname('a' as u32) && !is_surname(0xa000) && !is_surname(0x4dff));
    }

    #[test]
    fn a_name_shape_is_two_or_three_ideographs_after_a_surname() {
        // Surnames and other ideographs at both ends of the block and at the byte
        // boundaries (U+4FFF/U+5000), a character just outside it, ASCII, punctuation.
        let alphabet = [
            '王', '丁', '万', '一', '亿', '俿', '倀', '龥', '\u{9fff}', '\u{3400}', 'a', '，',
        ];
        let is_chinese = |c: char| ('\u{4e00}'..='\u{9fff}').contains(&c);
        let mut words = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = words
                .iter()
                .flat_map(|w| alphabet.iter().map(move |c| format!("{w}{c}")))
                .collect();
            words.extend(longer);
        }
        words.sort();
        words.dedup();
        for word in &words {
            let chars: Vec<char> = word.chars().collect();
            let expected = matches!(chars.len(), 2 | 3)
                && is_surname(chars[0] as u32)
                && chars.iter().all(|&c| is_chinese(c));
            assert_eq!(is_name_shaped(word), expected, "{word:?}");
        }
        assert!(is_name_shaped("王小明") && is_name_shaped("丁一") && !is_name_shaped("王"));
    }

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
