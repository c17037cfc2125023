//! The index's schema: its fields, by name ([`field`]) and as tantivy handles
//! ([`Fields`]), and its version.

use crate::tokenizer::TOKENIZER_NAME;
use tantivy::schema::{
    DateOptions, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STORED,
    STRING,
};

/// Raised whenever fields change meaning; an index of another version is rebuilt from
/// its stored documents when it is one of [`crate::migration`]'s, else not opened.
///
/// - 2: district, school and risk fields;
/// - 3: source type and platform;
/// - 4: the poster's IP region, engagement counts (reposts, comments, likes) and
///   spread, for `ip:` and the sort by spread.
pub const SCHEMA_VERSION: u32 = 4;
/// The file in the index folder that holds [`SCHEMA_VERSION`].
pub(crate) const VERSION_FILE: &str = "yuqing-schema-version";

/// The fields' names, used by the schema, the facets and the stored-column reads alike.
pub mod field {
    pub const ID: &str = "id";
    pub const URL: &str = "url";
    pub const SOURCE: &str = "source";
    pub const TITLE: &str = "title";
    pub const CONTENT: &str = "content";
    pub const TOPIC: &str = "topic";
    pub const SENTIMENT: &str = "sentiment";
    pub const DISTRICT: &str = "district";
    pub const SCHOOL: &str = "school";
    pub const RISK: &str = "risk";
    pub const RISK_LEVEL: &str = "risk_level";
    pub const SOURCE_KIND: &str = "source_kind";
    pub const RISK_SCORE: &str = "risk_score";
    pub const SOURCE_TYPE: &str = "source_type";
    pub const PLATFORM: &str = "platform";
    pub const IP_REGION: &str = "ip_region";
    pub const REPOSTS: &str = "reposts";
    pub const COMMENTS: &str = "comments";
    pub const LIKES: &str = "likes";
    pub const SPREAD: &str = "spread";
    pub const PUBLISHED_AT: &str = "published_at";
    pub const FETCHED_AT: &str = "fetched_at";
    pub const DOCUMENT: &str = "document";
    pub const PARA: &str = "para";
    pub const PARA_COUNT: &str = "para_count";
    pub const CLUSTER: &str = "cluster";
}

#[derive(Clone, Copy)]
pub(crate) struct Fields {
    pub id: Field,
    pub url: Field,
    pub source: Field,
    pub title: Field,
    pub content: Field,
    pub topic: Field,
    pub sentiment: Field,
    pub district: Field,
    pub school: Field,
    pub risk: Field,
    /// Risk and source type once each, in English, for counting (the searchable fields
    /// hold both spellings, which would count every document twice).
    pub risk_level: Field,
    pub source_kind: Field,
    pub risk_score: Field,
    /// Both spellings (`social` and 社交平台), like risk.
    pub source_type: Field,
    pub platform: Field,
    /// The region a platform shows for the poster (IP属地).
    pub ip_region: Field,
    pub reposts: Field,
    pub comments: Field,
    pub likes: Field,
    /// How far the document had spread when indexed: the earlier documents of its
    /// reprint cluster, plus its reposts on a social platform.
    pub spread: Field,
    pub published_at: Field,
    pub fetched_at: Field,
    /// The whole analyzed document as JSON: what the desk shows, explanations included.
    pub document: Field,
    /// Paragraph fingerprints, to find reprints (see `reprints`).
    pub para: Field,
    pub para_count: Field,
    /// The reprint cluster: the id of the first document of the story.
    pub cluster: Field,
}

pub(crate) fn build_schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER_NAME)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let date = DateOptions::default().set_indexed().set_fast();
    let fields = Fields {
        id: builder.add_text_field(field::ID, STRING | STORED),
        url: builder.add_text_field(field::URL, STRING),
        source: builder.add_text_field(field::SOURCE, STRING | FAST),
        title: builder.add_text_field(field::TITLE, text.clone()),
        content: builder.add_text_field(field::CONTENT, text),
        topic: builder.add_text_field(field::TOPIC, STRING | FAST),
        sentiment: builder.add_text_field(field::SENTIMENT, STRING | FAST),
        district: builder.add_text_field(field::DISTRICT, STRING | FAST),
        school: builder.add_text_field(field::SCHOOL, STRING | FAST),
        // Both spellings, so `risk:高` and `risk:high` find the same documents.
        risk: builder.add_text_field(field::RISK, STRING),
        risk_level: builder.add_text_field(field::RISK_LEVEL, FAST),
        source_kind: builder.add_text_field(field::SOURCE_KIND, FAST),
        risk_score: builder.add_f64_field(field::RISK_SCORE, FAST),
        source_type: builder.add_text_field(field::SOURCE_TYPE, STRING),
        platform: builder.add_text_field(field::PLATFORM, STRING | FAST),
        ip_region: builder.add_text_field(field::IP_REGION, STRING | FAST),
        reposts: builder.add_u64_field(field::REPOSTS, FAST),
        comments: builder.add_u64_field(field::COMMENTS, FAST),
        likes: builder.add_u64_field(field::LIKES, FAST),
        spread: builder.add_u64_field(field::SPREAD, FAST),
        published_at: builder.add_date_field(field::PUBLISHED_AT, date.clone()),
        fetched_at: builder.add_date_field(field::FETCHED_AT, date),
        document: builder.add_text_field(field::DOCUMENT, STORED),
        para: builder.add_text_field(field::PARA, STRING),
        para_count: builder.add_u64_field(field::PARA_COUNT, STORED),
        cluster: builder.add_text_field(field::CLUSTER, STRING | STORED | FAST),
    };
    (builder.build(), fields)
}
