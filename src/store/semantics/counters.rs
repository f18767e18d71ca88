//! Counters kept on write (unread, waiting, the totals) agree with a
//! recount, and the list is in its order, after any mix of writes.

use super::*;
use crate::domain::{AgentId, Author, ConversationStatus, Totals};

on_both!(
    totals_and_unread_counts_follow_every_kind_of_write,
    counters_agree_after_any_mix_of_turns_reads_and_status_changes,
    an_agent_message_marks_what_came_before_it_read,
    an_agent_message_keeps_its_author_as_written,
);

fn read_mark(role: Role, seq: u64) -> WriteOp {
    WriteOp::Read { role, seq }
}

/// Totals and unread counts by counting the messages.
fn recount(backend: &dyn Backend) -> (Totals, Vec<(String, u64)>) {
    let rows = rows(
        backend,
        "SELECT c.client_id, c.status,
                CASE WHEN c.waiting_since IS NULL THEN '0' ELSE '1' END,
                CAST((SELECT count(*) FROM messages m WHERE m.client_id = c.client_id
                        AND m.from_role = 0 AND m.seq > c.agent_read_seq) AS TEXT)
         FROM conversations c ORDER BY c.client_id",
    );
    let text = |v: &Option<String>| v.clone().expect("not null");
    let per: Vec<(String, bool, bool, u64)> = rows
        .iter()
        .map(|r| {
            (
                text(&r[0]),
                text(&r[1]) == "open",
                text(&r[2]) == "1",
                text(&r[3]).parse().expect("a count"),
            )
        })
        .collect();
    let open = per.iter().filter(|(_, open, _, _)| *open);
    let totals = Totals {
        unread: open.clone().map(|(_, _, _, n)| n).sum(),
        waiting: open.filter(|(_, _, waiting, _)| *waiting).count() as u64,
    };
    (
        totals,
        per.into_iter().map(|(id, _, _, n)| (id, n)).collect(),
    )
}

/// The list's order by its definition: waiting conversations first, longest
/// wait first, then the rest by newest activity.
fn order_of(s: &ConversationSummary) -> (i64, i64, String) {
    let (group, key) = match s.waiting_since.filter(|_| s.waiting) {
        Some(since) => (0, since.timestamp_millis()),
        None => (1, -s.last_activity.timestamp_millis()),
    };
    (group, key, s.client_id.as_str().to_owned())
}

/// The kept counters and list order agree with a recount and a sort.
pub(in crate::store) fn assert_counters_agree(backend: &dyn Backend) {
    let (totals, per) = recount(backend);
    assert_eq!(backend.totals().expect("totals"), totals);
    let listed = all_summaries(backend, ListQuery::default());
    let order: Vec<_> = listed.iter().map(order_of).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "the list is in its order");
    let mut unread: Vec<(String, u64)> = listed
        .into_iter()
        .map(|s| (s.client_id.as_str().to_owned(), s.unread))
        .collect();
    unread.sort();
    assert_eq!(unread, per);
}

fn totals_and_unread_counts_follow_every_kind_of_write(engine: &Engine) {
    let steps: &[(&str, &[WriteOp])] = &[
        (
            "a",
            &[message(1, Role::Customer), message(2, Role::Customer)],
        ),
        ("b", &[message(1, Role::Customer)]),
        ("c", &[message(1, Role::Customer)]),
        ("a", &[read_mark(Role::Agent, 1)]),
        ("a", &[read_mark(Role::Agent, 99)]),
        ("a", &[message(3, Role::Customer)]),
        ("b", &[WriteOp::Status(ConversationStatus::Resolved)]),
        ("b", &[message(2, Role::Customer)]),
        ("c", &[message(2, Role::Agent)]),
        ("d", &[message(1, Role::Customer), message(2, Role::Agent)]),
        ("a", &[read_mark(Role::Customer, 3)]),
        ("c", &[WriteOp::Status(ConversationStatus::Resolved)]),
        ("c", &[WriteOp::Status(ConversationStatus::Open)]),
    ];
    for (id, ops) in steps {
        commit(&**engine, id, ops);
        assert_counters_agree(&**engine);
    }
    assert_eq!(
        engine.totals().expect("totals"),
        Totals {
            unread: 3,
            waiting: 2
        }
    );
}

/// Every order of turns, reads and status changes, a few writes per
/// transaction, keeps the counters and the list order.
fn counters_agree_after_any_mix_of_turns_reads_and_status_changes(engine: &Engine) {
    let ids = ["p", "q", "r", "s"];
    let mut last_seq = [0u64; 4];
    // A fixed xorshift sequence: the same mix on every run.
    let mut state = 0x9e37_79b9_u32;
    let mut next = move |n: u32| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state % n
    };
    for _ in 0..150 {
        let c = next(4) as usize;
        let mut ops = Vec::new();
        for _ in 0..=next(3) {
            ops.push(match next(8) {
                0 if last_seq[c] > 0 => {
                    read_mark(Role::Agent, u64::from(next(4)) + last_seq[c] - 1)
                }
                1 if last_seq[c] > 0 => WriteOp::Status(if next(2) == 0 {
                    ConversationStatus::Resolved
                } else {
                    ConversationStatus::Open
                }),
                _ => {
                    last_seq[c] += 1;
                    let role = if next(2) == 0 {
                        Role::Customer
                    } else {
                        Role::Agent
                    };
                    message(last_seq[c], role)
                }
            });
        }
        commit(&**engine, ids[c], &ops);
        assert_counters_agree(&**engine);
    }
}

fn an_agent_message_marks_what_came_before_it_read(engine: &Engine) {
    commit(
        &**engine,
        "rest-reply",
        &[
            message(1, Role::Customer),
            message(2, Role::Customer),
            message(3, Role::Agent),
        ],
    );
    let summary = &engine
        .summaries_of(&[client("rest-reply")])
        .expect("summary")[0];
    assert_eq!((summary.unread, summary.agent_read_seq), (0, 3));
    assert_eq!(engine.totals().expect("totals").unread, 0);
    let snapshot = engine.load(&client("rest-reply"), 10).expect("load");
    assert_eq!(snapshot.agent_read_seq, 3);
}

fn an_agent_message_keeps_its_author_as_written(engine: &Engine) {
    let ana = Author {
        id: AgentId(3),
        name: "Ana".into(),
    };
    let WriteOp::Message(mut reply) = message(1, Role::Agent) else {
        unreachable!("message() makes messages");
    };
    reply.author = Some(ana.clone());
    commit(&**engine, "delta", &[WriteOp::Message(reply)]);
    let recent = engine.load(&client("delta"), 10).expect("load").recent;
    assert_eq!(recent[0].author, Some(ana));
}
