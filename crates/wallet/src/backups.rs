//! Sealed backups of the whole wallet in the owner's backup folder: made on
//! request or once a day, the newest few kept. The same for the app, the
//! CLI and `serve`.

use crate::{OwnerError, OwnerResult, Wallet};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How backup files are named in the backup folder: this, the wallet's
/// clock at the time, `-2`, `-3`… for more in the same second, `.json`.
const BACKUP_PREFIX: &str = "uma-wallet-backup-";
const DAY: i64 = 86_400;

/// The folder backups go to when the owner names none: one of the wallet's
/// own in her documents (it is made private, which her Documents folder
/// itself must never be), else in the data directory.
pub fn default_backup_dir(data_dir: &Path) -> PathBuf {
    dirs::document_dir()
        .or_else(dirs::home_dir)
        .map(|d| d.join("Pension wallet backups"))
        .unwrap_or_else(|| data_dir.join("backups"))
}

/// A sealed backup each day while the wallet is open, keeping the newest few.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct BackupSchedule {
    pub daily: bool,
    /// How many backups to keep (1 to 365); older ones are deleted.
    pub keep: u32,
}

impl Default for BackupSchedule {
    fn default() -> Self {
        BackupSchedule { daily: false, keep: 7 }
    }
}

impl BackupSchedule {
    pub fn check(&self) -> Result<(), String> {
        if (1..=365).contains(&self.keep) {
            Ok(())
        } else {
            Err("Keep between 1 and 365 backups.".into())
        }
    }
}

/// A backup file in the backup folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct BackupFile {
    #[schema(value_type = String)]
    #[ts(type = "string")]
    pub path: PathBuf,
    /// When it was made (Unix seconds).
    pub made_at: i64,
    #[ts(type = "number")]
    pub bytes: u64,
}

/// The backups in `dir`, newest first (only files named as the wallet
/// names them).
pub fn backups_in(dir: &Path) -> Vec<BackupFile> {
    let mut found: Vec<BackupFile> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let stem = name.strip_prefix(BACKUP_PREFIX)?.strip_suffix(".json")?;
            let (seconds, count) = stem.split_once('-').map_or((stem, None), |(s, n)| (s, Some(n)));
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if !digits(seconds) || count.is_some_and(|n| !digits(n)) {
                return None;
            }
            let made_at = seconds.parse().ok()?;
            Some(BackupFile { path: entry.path(), made_at, bytes: entry.metadata().ok()?.len() })
        })
        .collect();
    found.sort_by_key(|b| std::cmp::Reverse(b.made_at));
    found
}

/// Whether a daily backup is due, given the backups there are. A name
/// from the future (a clock that ran ahead, a planted file) does not count.
fn backup_due(now: i64, backups: &[BackupFile]) -> bool {
    backups.iter().find(|b| b.made_at <= now + DAY).is_none_or(|newest| now - newest.made_at >= DAY)
}

/// The backups beyond the newest `keep`.
fn beyond(backups: &[BackupFile], keep: u32) -> &[BackupFile] {
    backups.get(keep as usize..).unwrap_or(&[])
}

impl Wallet {
    /// The folder backups go to.
    pub fn backup_dir(&self) -> &Path {
        &self.backup_dir
    }

    /// Backups go to `dir` from now on.
    pub fn with_backup_dir(mut self, dir: PathBuf) -> Wallet {
        self.backup_dir = dir;
        self
    }

    /// The backups in the backup folder, newest first.
    pub fn backups(&self) -> Vec<BackupFile> {
        backups_in(&self.backup_dir)
    }

    /// A sealed copy of the whole wallet in the backup folder, named for
    /// the wallet's clock.
    pub async fn back_up(&self) -> OwnerResult<BackupFile> {
        crate::create_owner_dir(&self.backup_dir).map_err(|e| OwnerError::invalid(format!("The backup folder cannot be used: {e}")))?;
        // One at a time, so two in the same second cannot pick one name.
        let _one_at_a_time = self.backing_up.lock().await;
        let now = self.now();
        let path = (1..)
            .map(|n: u32| self.backup_dir.join(if n == 1 { format!("{BACKUP_PREFIX}{now}.json") } else { format!("{BACKUP_PREFIX}{now}-{n}.json") }))
            .find(|p| !p.exists())
            .expect("some name is free");
        let (wallet, target) = (self.clone(), path.clone());
        tokio::task::spawn_blocking(move || wallet.backup(&target)).await.map_err(OwnerError::internal)??;
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let made = BackupFile { made_at: now, path, bytes };
        self.backups_made.insert(made.path.to_string_lossy().as_bytes(), &made)?;
        Ok(made)
    }

    /// The backups in the folder that this wallet made, newest first: a
    /// file another wallet wrote, or anyone planted, never counts as one
    /// of them and is never pruned.
    fn own_backups(&self) -> OwnerResult<Vec<BackupFile>> {
        let made: Vec<BackupFile> = self.backups_made.values()?;
        Ok(self.backups().into_iter().filter(|b| made.iter().any(|m| m.path == b.path && m.made_at == b.made_at)).collect())
    }

    /// The daily round: a backup when none was made in the last day, then
    /// the oldest deleted beyond the newest `keep`, only once today's is
    /// there and never the newest.
    pub async fn scheduled_backup(&self, keep: u32) -> OwnerResult<Option<BackupFile>> {
        let made = if backup_due(self.now(), &self.own_backups()?) { Some(self.back_up().await?) } else { None };
        let now = self.now();
        let present: Vec<BackupFile> = self.own_backups()?.into_iter().filter(|b| b.made_at <= now + DAY).collect();
        if present.first().is_some_and(|newest| now - newest.made_at < DAY) {
            for old in beyond(&present, keep.max(1)) {
                match std::fs::remove_file(&old.path) {
                    Ok(()) => {
                        self.backups_made.remove(old.path.to_string_lossy().as_bytes())?;
                    }
                    Err(e) => tracing::warn!(error = %e, path = %old.path.display(), "an old backup could not be deleted"),
                }
            }
        }
        Ok(made)
    }

    /// Runs [`Wallet::scheduled_backup`] now and every hour until `stop`.
    pub async fn back_up_daily(&self, keep: u32, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            match self.scheduled_backup(keep).await {
                Ok(Some(made)) => tracing::info!(path = %made.path.display(), "scheduled backup made"),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "scheduled backup failed"),
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backup(made_at: i64) -> BackupFile {
        BackupFile { path: PathBuf::from(format!("{BACKUP_PREFIX}{made_at}.json")), made_at, bytes: 1 }
    }

    #[test]
    fn a_daily_backup_is_due_a_day_after_the_newest() {
        assert!(backup_due(1_000_000, &[]));
        assert!(!backup_due(1_000_000, &[backup(1_000_000 - DAY + 1), backup(1)]));
        assert!(backup_due(1_000_000, &[backup(1_000_000 - DAY)]));
        assert!(backup_due(1_000_000, &[backup(99_999_999_999), backup(1)]), "a name from the future does not put backups off");
    }

    #[test]
    fn only_the_newest_few_are_kept_and_only_the_wallets_own_files_count() {
        let dir = tempfile::tempdir().unwrap();
        for at in [100, 300, 200] {
            std::fs::write(dir.path().join(format!("{BACKUP_PREFIX}{at}.json")), "{}").unwrap();
        }
        std::fs::write(dir.path().join("notes.json"), "{}").unwrap();
        std::fs::write(dir.path().join(format!("{BACKUP_PREFIX}x.json")), "{}").unwrap();
        std::fs::write(dir.path().join(format!("{BACKUP_PREFIX}50-2.json")), "{}").unwrap();
        std::fs::write(dir.path().join(format!("{BACKUP_PREFIX}60-before-move.json")), "{}").unwrap();
        let found = backups_in(dir.path());
        assert_eq!(found.iter().map(|b| b.made_at).collect::<Vec<_>>(), vec![300, 200, 100, 50]);
        assert_eq!(beyond(&found, 2).iter().map(|b| b.made_at).collect::<Vec<_>>(), vec![100, 50]);
        assert!(beyond(&found, 5).is_empty());
    }
}
