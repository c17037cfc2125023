//! The desk's access control as the configuration sets it up: the users and the 签收
//! link key in the state database, the link each alert message carries, and the names
//! the desk answers to.

use super::DataDir;
use crate::config::Config;
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use yuqing_access::{AccessStore, AlertLinks};
use yuqing_alerts::AckLinker;

/// The users, sessions and tokens of the state database, and the signer of 签收 links
/// with its key.
pub struct DeskAccess {
    pub store: Arc<AccessStore>,
    pub links: AlertLinks,
}

impl DeskAccess {
    pub fn open(config: &Config, data: &DataDir) -> anyhow::Result<Self> {
        let path = data.state_db();
        let store = AccessStore::open(&path, config.desk.session_policy())
            .with_context(|| format!("the desk's users in {}", path.display()))?;
        let key = store
            .link_key()
            .with_context(|| format!("the 签收 link key in {}", path.display()))?;
        let valid_for = chrono::Duration::days(config.desk.ack_link_days.max(1) as i64);
        Ok(DeskAccess {
            store: Arc::new(store),
            links: AlertLinks::new(key, valid_for),
        })
    }

    /// The 签收 link of each alert message, where the desk has a public address: valid
    /// for that alert alone, for `[desk] ack_link_days`.
    pub fn ack_linker(&self, config: &Config) -> Option<AckLinker> {
        let base = config.desk.public_base()?;
        let links = self.links.clone();
        Some(Arc::new(move |id: &str| {
            let token = links.sign(id, chrono::Utc::now());
            format!("{base}/ack/{id}?t={token}")
        }))
    }

    /// The desk's security, for a desk bound to `listen`. Warns where nobody can log in
    /// yet.
    pub fn security(&self, config: &Config, listen: SocketAddr) -> yuqing_desk::DeskSecurity {
        if let Ok(false) = self.store.has_users() {
            tracing::warn!(
                "the desk has no users: create the first administrator with `yuqing user add NAME --role admin`"
            );
        }
        yuqing_desk::DeskSecurity {
            access: self.store.clone(),
            links: self.links.clone(),
            public_url: config.desk.public_base(),
            listen,
            allowed_hosts: config
                .desk
                .allowed_hosts
                .iter()
                .map(|host| host.to_ascii_lowercase())
                .collect(),
        }
    }
}
