//! Stable identities derived from the input's ids: UUIDv5 user, post and
//! request ids, a region per user and one or two device tokens per user.

use uuid::Uuid;

/// Namespace of every UUIDv5 the demo derives (itself UUIDv5 of the URL
/// namespace and "offload-demo").
const NAMESPACE: Uuid = Uuid::from_u128(0x2f4b_6a31_8c0e_5d7a_9b13_4e6f_0a2c_8d51);

/// Regions users are spread over, for the per-region analytics counters.
pub const REGIONS: [&str; 6] = ["africa", "asia", "europe", "north-america", "oceania", "south-america"];

/// The log an id comes from. The two logs number their users independently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// The Stack Exchange dump.
    Site,
    /// CollegeMsg.
    College,
}

impl Source {
    fn prefix(self) -> &'static str {
        match self {
            Source::Site => "stackexchange-conlang",
            Source::College => "collegemsg",
        }
    }
}

/// Derives the UUIDv5 of record `kind` number `number` of `source`, such as
/// the site's user 14 or CollegeMsg's message 5.
pub fn derive_id(source: Source, kind: &str, number: i64) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("{}/{kind}/{number}", source.prefix()).as_bytes())
}

/// Derives an id from other ids, such as a conversation from its two users.
pub fn derive_from(kind: &str, parts: &[Uuid]) -> Uuid {
    let mut name = kind.to_string();
    for part in parts {
        name.push('/');
        name.push_str(&part.simple().to_string());
    }
    Uuid::new_v5(&NAMESPACE, name.as_bytes())
}

/// A device registered for push notifications.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Device {
    /// An APNs device token (64 hex digits).
    Apns(String),
    /// An FCM registration token.
    Fcm(String),
}

impl Device {
    /// Returns the token, as the stand-ins record it as the target.
    pub fn token(&self) -> &str {
        match self {
            Device::Apns(token) | Device::Fcm(token) => token,
        }
    }
}

/// Returns the region of `user`, drawn from its id.
pub fn region(user: Uuid) -> &'static str {
    REGIONS[usize::from(user.as_bytes()[0]) % REGIONS.len()]
}

/// Returns the one or two devices of `user`, each on APNs or FCM, drawn from its id.
pub fn devices(user: Uuid) -> Vec<Device> {
    let bytes = user.as_bytes();
    let count = 1 + usize::from(bytes[1] & 1);
    (0..count)
        .map(|index| {
            let token = derive_from(&format!("device-{index}"), &[user]).simple().to_string();
            if bytes[2 + index] & 1 == 0 {
                let second = derive_from(&format!("device-{index}-b"), &[user]).simple().to_string();
                Device::Apns(format!("{token}{second}"))
            } else {
                Device::Fcm(format!("fcm-{token}"))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let first = derive_id(Source::Site, "user", 14);
        assert_eq!(first, derive_id(Source::Site, "user", 14));
        assert_ne!(first, derive_id(Source::College, "user", 14));
        assert_ne!(first, derive_id(Source::Site, "post", 14));
        assert_eq!(first.get_version_num(), 5);
    }

    #[test]
    fn devices_are_one_or_two_valid_tokens() {
        let mut counts = [0; 3];
        for number in 0..200 {
            let devices = devices(derive_id(Source::College, "user", number));
            counts[devices.len()] += 1;
            for device in devices {
                match device {
                    Device::Apns(token) => {
                        assert_eq!(token.len(), 64);
                        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
                    }
                    Device::Fcm(token) => assert!(token.starts_with("fcm-")),
                }
            }
        }
        assert_eq!(counts[0], 0);
        assert!(counts[1] > 50, "{counts:?}");
        assert!(counts[2] > 50, "{counts:?}");
    }
}
