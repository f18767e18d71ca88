//! Property tests: whatever a client sends, the frame decoder never panics
//! and always answers with a frame or an error.

use proptest::prelude::*;
use serde_json::{json, Value};
use support_chat::ClientFrame;

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::from),
        prop_oneof![
            Just("message"),
            Just("history_before"),
            Just("type"),
            Just("text")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::hash_map(
                prop_oneof![
                    Just("type".to_string()),
                    Just("text".to_string()),
                    Just("id".to_string()),
                    Just("before".to_string()),
                    Just("limit".to_string()),
                    Just("active".to_string()),
                    Just("seq".to_string()),
                    Just("status".to_string()),
                    Just("cursor".to_string()),
                    ".{0,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The codes a decoding error may carry (PROTOCOL.md lists them).
const DECODE_ERRORS: [&str; 7] = [
    "invalid_json",
    "invalid_contact",
    "unknown_type",
    "invalid_frame",
    "empty_text",
    "text_too_long",
    "invalid_message_id",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = ClientFrame::decode(&text, 4000);
    }

    #[test]
    fn arbitrary_json_yields_a_frame_or_an_error(value in arbitrary_json()) {
        match ClientFrame::decode(&value.to_string(), 4000) {
            Ok(ClientFrame::Message { text, id, .. }) => {
                prop_assert!(!text.trim().is_empty());
                prop_assert!(text.chars().count() <= 4000);
                prop_assert!(id.is_none_or(|id| (1..=64).contains(&id.chars().count())));
            }
            Ok(ClientFrame::HistoryBefore { limit, .. }) => {
                prop_assert!((1..=200).contains(&limit));
            }
            Ok(ClientFrame::List(request)) => {
                prop_assert!((1..=200).contains(&request.limit));
            }
            Ok(ClientFrame::Contact(update)) => {
                prop_assert!(update.name.is_some() || update.email.is_some());
            }
            Ok(ClientFrame::Assign { note, .. }) => {
                prop_assert!(note.is_none_or(|n| !n.trim().is_empty() && n.chars().count() <= 4000));
            }
            Ok(
                ClientFrame::Typing { .. }
                | ClientFrame::Read { .. }
                | ClientFrame::SetStatus(_)
                | ClientFrame::Availability { .. }
                | ClientFrame::Active,
            ) => {}
            Err(e) => prop_assert!(DECODE_ERRORS.contains(&e.code()), "unexpected code {}", e.code()),
        }
    }

    #[test]
    fn any_message_text_round_trips_or_is_refused_with_a_reason(text in ".{0,64}", id in proptest::option::of(".{0,70}")) {
        let frame = json!({"type":"message","text":text,"id":id});
        match ClientFrame::decode(&frame.to_string(), 4000) {
            Ok(ClientFrame::Message {
                text: got,
                id: got_id,
                ..
            }) => {
                prop_assert_eq!(got, text);
                prop_assert_eq!(got_id, id);
            }
            Ok(other) => prop_assert!(false, "decoded as {:?}", other),
            Err(e) => prop_assert!(["empty_text", "invalid_message_id"].contains(&e.code())),
        }
    }
}
