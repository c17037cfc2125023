//! The desk's three roles, each allowed what the one below it is and more.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A desk user's role. Ordered: each role may do everything the roles below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// 值班员: searches, reads, acknowledges and handles alerts.
    Duty,
    /// 分析员: also edits schemes, dictionaries and alert rules, runs reanalysis.
    Analyst,
    /// 管理员: also manages users, channels and sources, and reads the audit log.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Duty, Role::Analyst, Role::Admin];

    /// The name in configuration, the CLI and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Duty => "duty",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// The name desk staff know it by.
    pub fn zh(self) -> &'static str {
        match self {
            Role::Duty => "值班员",
            Role::Analyst => "分析员",
            Role::Admin => "管理员",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    /// Either name: `duty` or `值班员`, `analyst` or `分析员`, `admin` or `管理员`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| text == role.as_str() || text == role.zh())
            .ok_or_else(|| {
                format!(
                    "unknown role {text:?}: one of duty (值班员), analyst (分析员), admin (管理员)"
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_in_either_language_and_rank_in_order() {
        assert_eq!("值班员".parse::<Role>(), Ok(Role::Duty));
        assert_eq!("analyst".parse::<Role>(), Ok(Role::Analyst));
        assert_eq!("管理员".parse::<Role>(), Ok(Role::Admin));
        assert!("root"
            .parse::<Role>()
            .unwrap_err()
            .contains("duty (值班员)"));
        assert!(Role::Duty < Role::Analyst && Role::Analyst < Role::Admin);
    }
}
