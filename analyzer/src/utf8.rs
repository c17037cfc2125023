//! The analyzer's byte-level UTF-8 helpers. The taggers ask questions of every word of
//! every document ("is this a surname?", "does a school name end here?"); answering
//! them on the bytes instead of decoded characters is much of the analyzer's speed. Each
//! helper here is tested against the plain definition over all of Unicode.
//!
//! What they rely on: in UTF-8 a lead byte never occurs inside another character, so a
//! match of a character's bytes at any position is a whole character.

/// A few characters of three bytes in UTF-8 (Chinese characters and punctuation), found
/// in text by comparing bytes rather than by decoding each character and comparing it
/// with each of them: school names found by their shape are searched for these at
/// every character.
pub(crate) struct ThreeByteChars<const N: usize> {
    /// Each character's three bytes.
    keys: [u32; N],
    /// One bit for the low six bits of each character's last byte: at most places of a
    /// text, one test turns the search away.
    last_bytes: u64,
}

impl<const N: usize> ThreeByteChars<N> {
    pub(crate) const fn new(chars: [char; N]) -> Self {
        let mut set = ThreeByteChars {
            keys: [0; N],
            last_bytes: 0,
        };
        let mut i = 0;
        while i < N {
            let c = chars[i] as u32;
            assert!(c >= 0x800 && c <= 0xffff, "a character of three bytes");
            let bytes = [
                0xe0 | (c >> 12) as u8,
                0x80 | (c >> 6 & 0x3f) as u8,
                0x80 | (c & 0x3f) as u8,
            ];
            set.add(i, &bytes);
            i += 1;
        }
        set
    }

    /// The first character of each word.
    pub(crate) const fn first_chars_of(words: [&str; N]) -> Self {
        let mut set = ThreeByteChars {
            keys: [0; N],
            last_bytes: 0,
        };
        let mut i = 0;
        while i < N {
            set.add(i, words[i].as_bytes());
            i += 1;
        }
        set
    }

    const fn add(&mut self, index: usize, bytes: &[u8]) {
        assert!(
            bytes[0] >= 0xe0 && bytes[0] <= 0xef,
            "a character of three bytes"
        );
        self.keys[index] = Self::key(bytes[0], bytes[1], bytes[2]);
        self.last_bytes |= 1 << (bytes[2] & 0x3f);
    }

    const fn key(first: u8, second: u8, third: u8) -> u32 {
        (first as u32) << 16 | (second as u32) << 8 | third as u32
    }

    /// Whether one of the characters starts at byte `at` of `text`. The first byte of a
    /// three-byte character never occurs inside another character, so a match is a whole
    /// character.
    #[inline]
    pub(crate) fn starts_at(&self, text: &[u8], at: usize) -> bool {
        match text.get(at..at + 3) {
            Some(&[first, second, third]) => {
                self.last_bytes & (1 << (third & 0x3f)) != 0
                    && self.keys.contains(&Self::key(first, second, third))
            }
            _ => false,
        }
    }

    /// The byte offset just after the last of the characters in `text`.
    pub(crate) fn end_of_last(&self, text: &str) -> Option<usize> {
        let bytes = text.as_bytes();
        (0..bytes.len())
            .rev()
            .find(|&at| self.starts_at(bytes, at))
            .map(|at| at + 3)
    }
}

/// The code point of a three-byte UTF-8 sequence.
#[inline(always)]
pub(crate) const fn three_byte_value(lead: u8, second: u8, third: u8) -> u32 {
    (lead as u32 & 0x0f) << 12 | (second as u32 & 0x3f) << 6 | (third as u32 & 0x3f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_byte_characters_are_found_exactly_where_they_are() {
        let listed = ['在', '的', '，', '、'];
        let set = ThreeByteChars::new(listed);
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            for text in [format!("{c}"), format!("学{c}校"), format!("{c}a{c}")] {
                let expected = text
                    .char_indices()
                    .filter(|(_, c)| listed.contains(c))
                    .map(|(at, c)| at + c.len_utf8())
                    .next_back();
                assert_eq!(set.end_of_last(&text), expected, "{text:?}");
            }
        }
    }

    #[test]
    fn three_byte_values_are_the_code_points_of_every_three_byte_character() {
        for c in (0x800..=0xffff).filter_map(char::from_u32) {
            let mut buffer = [0; 4];
            let bytes = c.encode_utf8(&mut buffer).as_bytes();
            assert_eq!(
                three_byte_value(bytes[0], bytes[1], bytes[2]),
                c as u32,
                "{c}"
            );
        }
    }
}
