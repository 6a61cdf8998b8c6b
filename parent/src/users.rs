//! User and group lookup from /etc/passwd and /etc/group, for the users
//! scripts run as (system users such as `keepalived_script` and `nobody`
//! live there; no NSS module is loaded into the privileged parent).

/// The text of `path`, read again only when the file changed (its inode,
/// size or modification time): a configuration with thousands of scripts
/// looks their users up thousands of times.
fn read_cached(path: &str) -> Option<std::sync::Arc<String>> {
    use std::collections::HashMap;
    use std::os::unix::fs::MetadataExt;
    use std::sync::{Arc, Mutex};
    /// inode, size, mtime seconds and nanoseconds.
    type Key = (u64, u64, i64, i64);
    type Files = HashMap<String, (Key, Arc<String>)>;
    static CACHE: Mutex<Option<Files>> = Mutex::new(None);
    let m = std::fs::metadata(path).ok()?;
    let key = (m.ino(), m.size(), m.mtime(), m.mtime_nsec());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let map = cache.get_or_insert_with(HashMap::new);
    if let Some((k, text)) = map.get(path)
        && *k == key
    {
        return Some(text.clone());
    }
    let text = Arc::new(std::fs::read_to_string(path).ok()?);
    map.insert(path.to_string(), (key, text.clone()));
    Some(text)
}

fn lookup_in(path: &str, name: &str) -> Option<Vec<String>> {
    let text = read_cached(path)?;
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(':').map(str::to_string).collect::<Vec<_>>())
        .find(|f| f.first().map(String::as_str) == Some(name))
}

/// `(uid, primary gid)` of a user name (or of a numeric uid).
pub fn lookup_user(name: &str) -> Option<(u32, u32)> {
    if let Some(f) = lookup_in("/etc/passwd", name) {
        return Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?));
    }
    let uid: u32 = name.parse().ok()?;
    Some((uid, uid))
}

/// The gid of a group name (or a numeric gid).
pub fn lookup_group(name: &str) -> Option<u32> {
    if let Some(f) = lookup_in("/etc/group", name) {
        return f.get(2)?.parse().ok();
    }
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_nobody() {
        assert_eq!(lookup_user("root"), Some((0, 0)));
        assert_eq!(lookup_user("nobody").map(|u| u.0), Some(65534));
        assert_eq!(lookup_group("root"), Some(0));
        assert_eq!(lookup_user("no-such-user-krs"), None);
        assert_eq!(lookup_group("no-such-group-krs"), None);
        assert_eq!(lookup_user("1234"), Some((1234, 1234)));
    }
}
