//! Configured sources (信源): the settings every kind shares, each kind's own table, and
//! the checked, compiled [`Source`] the crawler visits.
//!
//! ```toml
//! [[source]]
//! name = "焦作教育资讯网"
//! kind = "listing"
//! url = "https://example.cn/news/"
//! [source.listing]
//! link_selector = "ul.news-list a"
//! pages = 3
//! ```
//!
//! Until December 2026 the kind's settings were written flat in `[[source]]`
//! (`link_selector = …`, `listing_pages = …`, `path = …`). That form still loads: each
//! such key is moved under its kind's table and listed in [`SourceConfig::moved`], so the
//! configuration loader can warn with the file, the line and the new spelling.

use crate::extract::ExtractRules;
use crate::sources::api::ApiConfig;
use crate::sources::import::ImportSettings;
use crate::sources::listing::ListingSettings;
use crate::sources::sitemap::SitemapSettings;
use crate::sources::Kind;
use chrono::{DateTime, FixedOffset};
use serde::Deserialize;
use std::path::PathBuf;
use url::Url;
use yuqing_model::SourceType;
use yuqing_netguard::AddressGuard;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// An RSS, Atom or JSON Feed whose items link to articles.
    Feed,
    /// A news listing page whose links lead to articles (`[source.listing]`).
    Listing,
    /// A sitemap (or news sitemap) of article pages, or a sitemap index of sitemaps
    /// (`[source.sitemap]`).
    Sitemap,
    /// A JSONL export or a folder of exports and saved pages (`[source.import] path`),
    /// read each visit; what was imported before is not imported again.
    Import,
    /// A JSON API listing social posts (`[source.api]`: a preset or a field mapping).
    Api,
}

impl SourceKind {
    /// The kind's name as written in `kind = "…"` and as its table, `[source.NAME]`.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Feed => "feed",
            SourceKind::Listing => "listing",
            SourceKind::Sitemap => "sitemap",
            SourceKind::Import => "import",
            SourceKind::Api => "api",
        }
    }
}

/// One `[[source]]` of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "SourceToml")]
pub struct SourceConfig {
    /// Shown to the desk as the document's source.
    pub name: String,
    pub kind: SourceKind,
    /// May contain `{sample_site}`, replaced by the bundled sample site's address.
    /// Not for imports.
    pub url: String,
    pub interval_secs: u64,
    /// This source's pause between two requests to its site, instead of the crawler's
    /// `request_delay_ms` (robots.txt `Crawl-delay` can still lengthen it).
    pub request_delay_ms: Option<u64>,
    pub enabled: bool,
    /// At most this many articles (or posts) are taken per visit.
    pub max_articles: usize,
    /// Who publishes here: 官方媒体, 商业媒体 (the default, or 社交平台 for API sources),
    /// 自媒体 or 社交平台 (or official, commercial, self_media, social). It weighs in the
    /// risk of what the source says.
    pub source_type: Option<SourceType>,
    /// The platform of a social source (weibo, douyin, …), for the desk's `platform:`.
    /// An API preset names its own.
    pub platform: Option<String>,
    /// CSS selectors for a site where the generic article extractor goes wrong.
    pub extract: Option<crate::extract::ExtractConfig>,
    /// Networks this source may reach although they are loopback, private or special
    /// (refused by default, so a hostile page cannot point the crawler at the intranet),
    /// e.g. `["127.0.0.0/8"]` for a site served on this machine.
    pub allowed_networks: Vec<String>,
    /// `[source.listing]`
    pub listing: Option<ListingSettings>,
    /// `[source.sitemap]`
    pub sitemap: Option<SitemapSettings>,
    /// `[source.import]`
    pub import: Option<ImportSettings>,
    /// `[source.api]`
    pub api: Option<ApiConfig>,
    /// Keys written in the old flat form and moved under their kind's table.
    pub moved: Vec<MovedKey>,
}

/// A key of the old flat form, and where it lives now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MovedKey {
    /// As written in `[[source]]`.
    pub old: &'static str,
    /// The table it belongs to, `[source.TABLE]`.
    pub table: &'static str,
    /// Its name in that table.
    pub new: &'static str,
}

impl std::fmt::Display for MovedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` in [[source]] is the old spelling; write `{} = …` under [source.{}]",
            self.old, self.new, self.table
        )
    }
}

/// `[[source]]` as written: the current form plus the old flat keys, which
/// [`SourceConfig`]'s conversion moves under their kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceToml {
    name: String,
    kind: SourceKind,
    #[serde(default)]
    url: String,
    #[serde(default = "default_interval_secs")]
    interval_secs: u64,
    request_delay_ms: Option<u64>,
    #[serde(default = "default_enabled")]
    enabled: bool,
    #[serde(default = "default_max_articles")]
    max_articles: usize,
    source_type: Option<SourceType>,
    platform: Option<String>,
    extract: Option<crate::extract::ExtractConfig>,
    #[serde(default)]
    allowed_networks: Vec<String>,
    listing: Option<ListingSettings>,
    sitemap: Option<SitemapSettings>,
    import: Option<ImportSettings>,
    api: Option<ApiConfig>,
    // The old flat form.
    link_selector: Option<String>,
    link_pattern: Option<String>,
    listing_pages: Option<usize>,
    next_page_selector: Option<String>,
    path: Option<PathBuf>,
}

fn default_interval_secs() -> u64 {
    600
}
fn default_enabled() -> bool {
    true
}
fn default_max_articles() -> usize {
    200
}

/// Moves an old flat key into its place in a kind's table, unless the table has it too.
fn move_key<T>(
    flat: Option<T>,
    slot: &mut Option<T>,
    key: MovedKey,
    moved: &mut Vec<MovedKey>,
) -> Result<(), String> {
    let Some(value) = flat else { return Ok(()) };
    if slot.is_some() {
        return Err(format!(
            "`{}` is given twice: in [[source]] and as `{}` under [source.{}]",
            key.old, key.new, key.table
        ));
    }
    *slot = Some(value);
    moved.push(key);
    Ok(())
}

impl TryFrom<SourceToml> for SourceConfig {
    type Error = String;

    fn try_from(t: SourceToml) -> Result<Self, String> {
        let mut moved = Vec::new();
        let key = |old, table, new| MovedKey { old, table, new };
        let (mut listing, mut sitemap, mut import) = (t.listing, t.sitemap, t.import);
        let flat_listing = t.link_selector.is_some()
            || t.listing_pages.is_some()
            || t.next_page_selector.is_some();
        if t.kind == SourceKind::Listing {
            let table = listing.get_or_insert_with(ListingSettings::default);
            move_key(
                t.link_selector,
                &mut table.link_selector,
                key("link_selector", "listing", "link_selector"),
                &mut moved,
            )?;
            move_key(
                t.link_pattern.clone(),
                &mut table.link_pattern,
                key("link_pattern", "listing", "link_pattern"),
                &mut moved,
            )?;
            move_key(
                t.listing_pages,
                &mut table.pages,
                key("listing_pages", "listing", "pages"),
                &mut moved,
            )?;
            move_key(
                t.next_page_selector,
                &mut table.next_page_selector,
                key("next_page_selector", "listing", "next_page_selector"),
                &mut moved,
            )?;
        } else if flat_listing {
            return Err(
                "link_selector, next_page_selector and listing_pages apply to listing sources only"
                    .into(),
            );
        }
        match t.kind {
            SourceKind::Listing => {}
            SourceKind::Sitemap => {
                let table = sitemap.get_or_insert_with(SitemapSettings::default);
                move_key(
                    t.link_pattern,
                    &mut table.link_pattern,
                    key("link_pattern", "sitemap", "link_pattern"),
                    &mut moved,
                )?;
            }
            _ if t.link_pattern.is_some() => {
                return Err("link_pattern applies to listing and sitemap sources only".into())
            }
            _ => {}
        }
        if t.kind == SourceKind::Import {
            let mut path = import.as_ref().map(|i| i.path.clone());
            move_key(t.path, &mut path, key("path", "import", "path"), &mut moved)?;
            import = path.map(|path| ImportSettings { path });
        } else if t.path.is_some() {
            return Err("path: only import sources read files".into());
        }
        Ok(SourceConfig {
            name: t.name,
            kind: t.kind,
            url: t.url,
            interval_secs: t.interval_secs,
            request_delay_ms: t.request_delay_ms,
            enabled: t.enabled,
            max_articles: t.max_articles,
            source_type: t.source_type,
            platform: t.platform,
            extract: t.extract,
            allowed_networks: t.allowed_networks,
            listing,
            sitemap,
            import,
            api: t.api,
            moved,
        })
    }
}

/// A source ready to crawl: its configuration checked and compiled.
#[derive(Debug, Clone)]
pub struct Source {
    pub config: SourceConfig,
    /// The page visited (for an import, the file or folder as a `file:` URL).
    pub url: Url,
    pub guard: AddressGuard,
    /// The source's own extraction selectors (none: the generic extractor alone).
    pub extract: ExtractRules,
    /// The kind with its own settings compiled.
    pub(crate) kind: Kind,
}

/// An article link found on a source, with what the source already said about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub url: Url,
    pub title: Option<String>,
    pub published_at: Option<DateTime<FixedOffset>>,
}

impl SourceConfig {
    /// Who publishes here, as configured or as the kind of source suggests.
    pub fn source_type(&self) -> SourceType {
        self.source_type.unwrap_or(match self.kind {
            SourceKind::Api => SourceType::Social,
            _ => SourceType::default(),
        })
    }

    /// The platform, as configured or as the API preset names it.
    pub fn platform(&self) -> Option<String> {
        self.platform.clone().or_else(|| {
            let preset = self.api.as_ref()?.preset?;
            Some(preset.platform().to_string())
        })
    }

    /// The tables of other kinds than this source's, which it would ignore.
    fn foreign_tables(&self) -> impl Iterator<Item = SourceKind> + '_ {
        [
            (SourceKind::Listing, self.listing.is_some()),
            (SourceKind::Sitemap, self.sitemap.is_some()),
            (SourceKind::Import, self.import.is_some()),
            (SourceKind::Api, self.api.is_some()),
        ]
        .into_iter()
        .filter(move |(kind, given)| *given && *kind != self.kind)
        .map(|(kind, _)| kind)
    }

    /// Checks and compiles the source. `sample_site` replaces `{sample_site}` in the URL.
    /// Errors name the offending field.
    pub fn build(&self, sample_site: &str) -> Result<Source, String> {
        if self.name.trim().is_empty() {
            return Err("name: must not be empty".into());
        }
        if let Some(other) = self.foreign_tables().next() {
            let table = other.name();
            return Err(format!(
                "[source.{table}] applies to {table} sources (kind = \"{table}\") only"
            ));
        }
        if self.interval_secs == 0 {
            return Err("interval_secs: must be at least 1".into());
        }
        if self.extract.is_some() && self.kind == SourceKind::Api {
            return Err("extract applies to sources of article pages, not API sources".into());
        }
        let extract = match &self.extract {
            Some(extract) => extract.build()?,
            None => ExtractRules::default(),
        };
        let kind = Kind::build(self)?;
        if self.kind == SourceKind::Import {
            if !self.url.is_empty() {
                return Err("an import source takes `path` under [source.import], not url".into());
            }
            let path = &self.import.as_ref().expect("checked by Kind::build").path;
            let absolute = std::path::absolute(path).map_err(|e| format!("path: {e}"))?;
            let url = Url::from_file_path(&absolute)
                .map_err(|_| format!("path: {} is not a usable path", path.display()))?;
            return Ok(Source {
                config: self.clone(),
                url,
                guard: AddressGuard::new(Vec::new()),
                extract,
                kind,
            });
        }
        let url_text = self.url.replace("{sample_site}", sample_site);
        let url = Url::parse(&url_text).map_err(|e| format!("url: {e}: {url_text:?}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "url: only http and https are crawled, got {:?}",
                url.scheme()
            ));
        }
        let allowed = yuqing_netguard::parse_networks(&self.allowed_networks, "allowed_networks")?;
        Ok(Source {
            config: self.clone(),
            url,
            guard: AddressGuard::new(allowed),
            extract,
            kind,
        })
    }
}

impl Source {
    pub fn name(&self) -> &str {
        &self.config.name
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn source(toml_text: &str) -> Result<Source, String> {
        let config: SourceConfig = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        config.build("http://127.0.0.1:9")
    }

    #[test]
    fn bad_source_settings_name_the_field() {
        let err = source(
            "name = \"x\"\nkind = \"listing\"\nurl = \"http://a.cn\"\n[listing]\nlink_selector = \"((\"",
        )
        .unwrap_err();
        assert!(err.starts_with("link_selector:"), "{err}");
        let err =
            source("name = \"x\"\nkind = \"feed\"\nurl = \"file:///etc/passwd\"").unwrap_err();
        assert!(err.contains("only http and https"), "{err}");
        let err = source("name = \"x\"\nkind = \"atlas\"\nurl = \"http://a.cn\"").unwrap_err();
        assert!(err.contains("unknown variant `atlas`"), "{err}");
        let err =
            source("name = \"x\"\nkind = \"feed\"\nurl = \"http://a.cn\"\n[listing]\npages = 2")
                .unwrap_err();
        assert!(
            err.contains("[source.listing] applies to listing sources"),
            "{err}"
        );
        let err = source("name = \"x\"\nkind = \"listing\"\nurl = \"http://a.cn\"\n[listing]\nlink_selectr = \"a\"")
            .unwrap_err();
        assert!(err.contains("unknown field `link_selectr`"), "{err}");
    }

    #[test]
    fn the_old_flat_form_loads_and_says_where_each_key_went() {
        let flat = "name = \"x\"\nkind = \"listing\"\nurl = \"http://a.cn\"\nlink_selector = \".list a\"\nlisting_pages = 3\n";
        let nested = "name = \"x\"\nkind = \"listing\"\nurl = \"http://a.cn\"\n[listing]\nlink_selector = \".list a\"\npages = 3\n";
        let old: SourceConfig = toml::from_str(flat).unwrap();
        let new: SourceConfig = toml::from_str(nested).unwrap();
        assert_eq!(old.listing, new.listing);
        assert!(new.moved.is_empty());
        let moved: Vec<String> = old.moved.iter().map(|m| m.to_string()).collect();
        assert_eq!(
            moved,
            [
                "`link_selector` in [[source]] is the old spelling; write `link_selector = …` under [source.listing]",
                "`listing_pages` in [[source]] is the old spelling; write `pages = …` under [source.listing]",
            ]
        );
        let both = format!("{flat}[listing]\npages = 2\n");
        let err = toml::from_str::<SourceConfig>(&both)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`listing_pages` is given twice"), "{err}");

        let import: SourceConfig =
            toml::from_str("name = \"i\"\nkind = \"import\"\npath = \"exports\"").unwrap();
        assert_eq!(import.import.unwrap().path, PathBuf::from("exports"));
        assert_eq!(import.moved[0].table, "import");
    }
}
