//! Identifiers derived from an event id and an action's position.
//!
//! A replayed event (at-least-once delivery) sends the same push again. When
//! the producer gave no ids, deriving `apns-id`, the APNs collapse id and the
//! FCM collapse key from the event id and the action's index makes the
//! replay carry the same ids as the first attempt, so the device replaces the
//! first notification instead of showing a second one.

use uuid::Uuid;

/// Namespace of the UUID v5 ids below: the v5 id of "offload.push" in the
/// URL namespace, fixed so that every worker version derives the same ids.
const NAMESPACE: Uuid = Uuid::from_u128(0x247d_c664_3342_5d16_bf58_859d_2139_e6b2);

/// Ids for one push action of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedIds {
    /// The `apns-id` header: a UUID, as APNs requires.
    pub apns_id: Uuid,
    /// The `apns-collapse-id` header and FCM's Android `collapse_key`: 36
    /// characters, below APNs' limit of 64 bytes.
    pub collapse_id: String,
}

/// Derives the ids of the action at `index` of the event `event_id`.
pub fn derive_ids(event_id: Uuid, index: usize) -> DerivedIds {
    let apns_name = format!("{event_id}/{index}/apns-id");
    let collapse_name = format!("{event_id}/{index}/collapse-id");
    DerivedIds {
        apns_id: Uuid::new_v5(&NAMESPACE, apns_name.as_bytes()),
        collapse_id: Uuid::new_v5(&NAMESPACE, collapse_name.as_bytes()).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_per_event_and_index() {
        let event_id = Uuid::parse_str("0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9").unwrap();

        let first = derive_ids(event_id, 2);
        let replay = derive_ids(event_id, 2);
        let other_action = derive_ids(event_id, 3);
        let other_event = derive_ids(Uuid::new_v4(), 2);

        assert_eq!(first, replay);
        assert_ne!(first.apns_id, other_action.apns_id);
        assert_ne!(first.collapse_id, other_action.collapse_id);
        assert_ne!(first.apns_id, other_event.apns_id);
        assert_ne!(first.apns_id.to_string(), first.collapse_id);
        assert_eq!(first.collapse_id.len(), 36);
    }

    #[test]
    fn namespace_is_the_url_id_of_offload_push() {
        assert_eq!(NAMESPACE, Uuid::new_v5(&Uuid::NAMESPACE_URL, b"offload.push"));
    }

    #[test]
    fn derived_ids_match_known_values() {
        // Pins the derivation: changing it would make replays of events
        // published before the change show twice.
        let event_id = Uuid::parse_str("0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9").unwrap();

        let ids = derive_ids(event_id, 0);

        assert_eq!(ids.apns_id.get_version_num(), 5);
        assert_eq!(
            ids.apns_id,
            Uuid::new_v5(&NAMESPACE, b"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9/0/apns-id")
        );
    }
}
