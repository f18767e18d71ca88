//! Many conversations at full speed against the real binary, through
//! restarts, SIGKILL and SIGTERM: every acknowledged message stays.

use super::*;

/// What the test knows about one conversation, across all crash cycles.
struct Conversation {
    client: String,
    /// Every message id ever sent (attempted), in order; ids are unique.
    sent: Vec<String>,
    sent_set: HashSet<String>,
    /// Every acknowledgement ever received, by message id.
    acked: HashMap<String, Msg>,
    /// The whole history as last verified.
    stored: Vec<Msg>,
    /// Ids are `c{tag}-{n}`.
    tag: usize,
}

impl Conversation {
    fn new(prefix: &str, tag: usize) -> Conversation {
        Conversation {
            client: format!("{prefix}-{tag}"),
            sent: Vec::new(),
            sent_set: HashSet::new(),
            acked: HashMap::new(),
            stored: Vec::new(),
            tag,
        }
    }

    /// Takes in what one traffic run saw, checking every acknowledgement.
    fn absorb(&mut self, live: &Live) {
        for id in &live.sent {
            assert!(
                self.sent_set.insert(id.clone()),
                "test bug: {id} sent twice"
            );
            self.sent.push(id.clone());
        }
        for ack in &live.acks {
            let id = ack.id();
            assert!(
                self.sent_set.contains(id),
                "{}: acknowledgement for a message never sent: {ack:?}",
                self.client
            );
            assert_eq!(ack.text, text_of(id), "{}: acknowledged text", self.client);
            assert_eq!(ack.from, "customer");
            if let Some(earlier) = self.acked.get(id) {
                assert_eq!(
                    earlier, ack,
                    "{}: two different acknowledgements for {id}",
                    self.client
                );
            } else {
                self.acked.insert(id.to_string(), ack.clone());
            }
        }
    }

    /// Checks a full history read back from the server: gapless seqs from 1,
    /// no id twice, nothing that was never sent, every acknowledged message
    /// present with the seq, ts and text it was acknowledged with, and all
    /// of the previously verified history unchanged.
    fn check(&self, last_seq: u64, history: &[Msg]) {
        let mut problems = Vec::new();
        if last_seq != history.len() as u64 {
            problems.push(format!(
                "welcome last_seq {last_seq} but the history holds {} messages",
                history.len()
            ));
        }
        let mut by_id: HashMap<&str, &Msg> = HashMap::new();
        for (i, m) in history.iter().enumerate() {
            if m.seq != i as u64 + 1 {
                problems.push(format!(
                    "position {i} holds seq {} (gap or disorder)",
                    m.seq
                ));
            }
            let Some(id) = m.id.as_deref() else {
                problems.push(format!("seq {} has no id", m.seq));
                continue;
            };
            if let Some(first) = by_id.insert(id, m) {
                problems.push(format!(
                    "id {id} stored twice: seq {} and {}",
                    first.seq, m.seq
                ));
            }
            if !self.sent_set.contains(id) {
                problems.push(format!("seq {} has id {id}, which was never sent", m.seq));
            }
            if m.text != text_of(id) || m.from != "customer" {
                problems.push(format!("seq {} is not what was sent: {m:?}", m.seq));
            }
        }
        let mut acked: Vec<&Msg> = self.acked.values().collect();
        acked.sort_by_key(|m| m.seq);
        for ack in acked {
            match by_id.get(ack.id()) {
                None => problems.push(format!("acknowledged {ack:?} is lost")),
                Some(stored) if *stored != ack => problems.push(format!(
                    "acknowledged {ack:?} is stored differently: {stored:?}"
                )),
                Some(_) => {}
            }
        }
        let kept = self.stored.len().min(history.len());
        if history[..kept] != self.stored[..kept] || kept < self.stored.len() {
            problems.push(format!(
                "the {} messages verified before are not all unchanged",
                self.stored.len()
            ));
        }
        assert!(
            problems.is_empty(),
            "{}: {} problems in a history of {} messages (showing 20):\n  {}",
            self.client,
            problems.len(),
            history.len(),
            problems
                .iter()
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }

    /// After a restart: reads and checks the whole history, then resends
    /// every message that was sent without acknowledgement (same ids) plus a
    /// few acknowledged ones, and checks that each id ends up stored exactly
    /// once, the new ones continuing the numbering.
    async fn verify_and_resend(&mut self, base_ws: &str) {
        let url = format!("{base_ws}/ws/customer/{}?since=0", self.client);
        let (last, history) = full_history(&url).await;
        self.check(last, &history);
        self.stored = history;
        let n = self.stored.len() as u64;
        let stored: HashMap<String, Msg> = self
            .stored
            .iter()
            .map(|m| (m.id().to_string(), m.clone()))
            .collect();

        let mut resend: Vec<String> = self
            .sent
            .iter()
            .filter(|id| !self.acked.contains_key(*id))
            .cloned()
            .collect();
        // The oldest (from the store, beyond the in-memory window once the
        // conversation is long), one in the middle and the newest.
        let mut acked: Vec<&Msg> = self.acked.values().collect();
        acked.sort_by_key(|m| m.seq);
        if !acked.is_empty() {
            for i in [0, acked.len() / 2, acked.len() - 1] {
                let id = acked[i].id().to_string();
                if !resend.contains(&id) {
                    resend.push(id);
                }
            }
        }

        let url = format!("{base_ws}/ws/customer/{}?since={n}", self.client);
        let (mut socket, welcome, gap) = WsClient::join(&url).await;
        assert_eq!(last_seq(&welcome), n);
        assert!(history_messages(&gap).is_empty());
        let mut answers: HashMap<String, Msg> = HashMap::new();
        // In chunks, reading the answers in between, so the server never
        // holds more unread frames for this socket than its mailbox allows.
        for chunk in resend.chunks(100) {
            for id in chunk {
                socket.say(&text_of(id), Some(id)).await;
            }
            let mut waiting: HashSet<&str> = chunk.iter().map(String::as_str).collect();
            while !waiting.is_empty() {
                let frame = socket.next_json().await;
                match frame["type"].as_str() {
                    Some("message") => {
                        let m = Msg::parse(&frame);
                        assert!(
                            waiting.remove(m.id()),
                            "{}: unexpected or second answer {m:?} while resending",
                            self.client
                        );
                        answers.insert(m.id().to_string(), m);
                    }
                    Some("error") => panic!("{}: a resend was refused: {frame}", self.client),
                    _ => {}
                }
            }
        }
        hang_up(socket).await;

        let mut next = n + 1;
        for id in &resend {
            let answer = &answers[id];
            match stored.get(id) {
                Some(original) => assert_eq!(
                    answer, original,
                    "{}: resending stored {id} must return the stored message, not a new one",
                    self.client
                ),
                None => {
                    assert_eq!(
                        answer.seq, next,
                        "{}: resent {id} should get the next seq",
                        self.client
                    );
                    assert_eq!(answer.text, text_of(id));
                    next += 1;
                }
            }
        }
        self.absorb(&Live {
            acks: answers.into_values().collect(),
            ..Live::default()
        });

        let url = format!("{base_ws}/ws/customer/{}?since=0", self.client);
        let (last, history) = full_history(&url).await;
        self.check(last, &history);
        assert_eq!(
            history.len(),
            self.sent.len(),
            "{}: every message sent is now stored exactly once",
            self.client
        );
        assert_eq!(history.len() as u64, next - 1);
        self.stored = history;
    }
}

/// What one conversation's traffic tasks saw.
#[derive(Default)]
struct Live {
    /// Ids in the order their frames were (attempted to be) sent.
    sent: Vec<String>,
    /// Every `message` frame received: the acknowledgements.
    acks: Vec<Msg>,
    errors: Vec<Value>,
    /// The close frame's code, if a close frame came.
    close: Option<Option<u16>>,
}

struct Lane {
    live: Arc<Mutex<Live>>,
    writer: JoinHandle<()>,
    reader: JoinHandle<()>,
}

/// Every conversation's customer sending as fast as it can, never waiting
/// for an acknowledgement unless `IN_FLIGHT` are outstanding, while a reader
/// task per socket records every acknowledgement.
struct Traffic {
    acks: Arc<AtomicUsize>,
    lanes: Vec<Lane>,
}

impl Traffic {
    async fn start(addr: SocketAddr, conversations: &[Conversation]) -> Traffic {
        let acks = Arc::new(AtomicUsize::new(0));
        let mut lanes = Vec::new();
        for conv in conversations {
            let n = conv.stored.len();
            let url = format!("ws://{addr}/ws/customer/{}?since={n}", conv.client);
            let (client, welcome, _) = WsClient::join(&url).await;
            assert_eq!(last_seq(&welcome), n as u64, "{}", conv.client);
            let (mut sink, mut stream) = client.socket.split();
            let window = Arc::new(Semaphore::new(IN_FLIGHT));
            let live = Arc::new(Mutex::new(Live::default()));

            let (tag, first) = (conv.tag, conv.sent.len() + 1);
            let (w_window, w_live) = (Arc::clone(&window), Arc::clone(&live));
            let writer = tokio::spawn(async move {
                for k in first.. {
                    match w_window.acquire().await {
                        Ok(permit) => permit.forget(),
                        Err(_) => break, // the reader has ended
                    }
                    let id = format!("c{tag}-{k}");
                    let frame = json!({"type": "message", "text": text_of(&id), "id": id});
                    w_live.lock().unwrap().sent.push(id);
                    if sink.send(Message::Text(frame.to_string())).await.is_err() {
                        break;
                    }
                }
            });

            let (r_acks, r_live) = (Arc::clone(&acks), Arc::clone(&live));
            let reader = tokio::spawn(async move {
                while let Some(Ok(frame)) = stream.next().await {
                    match frame {
                        Message::Text(text) => {
                            let v: Value = serde_json::from_str(&text).expect("server sends JSON");
                            match v["type"].as_str() {
                                Some("message") => {
                                    r_live.lock().unwrap().acks.push(Msg::parse(&v));
                                    r_acks.fetch_add(1, Ordering::Relaxed);
                                    window.add_permits(1);
                                }
                                Some("error") => {
                                    r_live.lock().unwrap().errors.push(v);
                                    window.add_permits(1);
                                }
                                _ => {}
                            }
                        }
                        Message::Close(frame) => {
                            r_live.lock().unwrap().close = Some(frame.map(|f| u16::from(f.code)));
                        }
                        _ => {}
                    }
                }
                window.close();
            });
            lanes.push(Lane {
                live,
                writer,
                reader,
            });
        }
        Traffic { acks, lanes }
    }

    async fn wait_for_acks(&self, at_least: usize) {
        let what = format!("{at_least} acknowledgements");
        eventually(&what, PATIENCE, || async {
            (self.acks.load(Ordering::Relaxed) >= at_least).then_some(())
        })
        .await;
    }

    /// Once the server is gone: waits for every task and hands each
    /// conversation what its socket saw.
    async fn finish(self, conversations: &mut [Conversation]) -> Vec<Live> {
        let mut seen = Vec::new();
        for (lane, conv) in self.lanes.into_iter().zip(conversations.iter_mut()) {
            for task in [lane.writer, lane.reader] {
                tokio::time::timeout(PATIENCE, task)
                    .await
                    .unwrap_or_else(|_| panic!("{}: traffic task did not end", conv.client))
                    .expect("traffic task panicked");
            }
            let live = std::mem::take(&mut *lane.live.lock().unwrap());
            conv.absorb(&live);
            seen.push(live);
        }
        seen
    }
}

/// Sent but not acknowledged, over all conversations' last traffic run.
fn in_flight(seen: &[Live]) -> usize {
    seen.iter()
        .map(|l| l.sent.len().saturating_sub(l.acks.len()))
        .sum()
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

on_each_backend! {
    async fn history_survives_a_restart_and_seqs_continue() {
        let app = spawn_app().await;
        let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/restart-1")).await;
        let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/restart-1")).await;
        let mut before = Vec::new();
        for i in 1..=6 {
            let (text, id) = (format!("customer says {i}"), format!("c-{i}"));
            before.push(say_and_ack(&mut customer, Some(&mut agent), &text, Some(&id)).await);
            if i % 2 == 0 {
                let text = format!("agent answers {i}");
                before.push(say_and_ack(&mut agent, Some(&mut customer), &text, None).await);
            }
        }
        let seqs: Vec<u64> = before.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=9).collect::<Vec<u64>>());
        customer.close().await;
        agent.close().await;

        let app = app.restart().await;
        for url in [
            app.ws("/ws/customer/restart-1?since=0"),
            app.ws_as_agent("/ws/agent/restart-1?since=0"),
        ] {
            let (last, history) = full_history(&url).await;
            assert_eq!(last, 9, "welcome of {url} after the restart");
            assert_eq!(history, before, "history of {url} after the restart");
        }

        let (mut customer, _, gap) = WsClient::join(&app.ws("/ws/customer/restart-1?since=9")).await;
        assert!(history_messages(&gap).is_empty());
        let next = say_and_ack(&mut customer, None, "after the restart", Some("c-7")).await;
        assert_eq!(next.seq, 10, "the numbering continues after the restart");
        // A retry of a message from before the restart is not stored again.
        customer.say("customer says 1", Some("c-1")).await;
        assert_eq!(Msg::parse(&customer.wait_for("message").await), before[0]);
        let last_one = say_and_ack(&mut customer, None, "one more", Some("c-8")).await;
        assert_eq!(last_one.seq, 11);
        before.extend([next, last_one]);
        customer.close().await;

        let app = app.restart().await;
        let (last, history) = full_history(&app.ws_as_agent("/ws/agent/restart-1?since=0")).await;
        assert_eq!(last, 11);
        assert_eq!(history, before, "history after a second restart");
    }
}

on_each_backend! {
    async fn every_acknowledged_message_survives_kill_9() {
        let dir = TempDir::new().expect("temp dir");
        let store = store_flags();
        let mut conversations: Vec<Conversation> = (0..CONVERSATIONS)
            .map(|tag| Conversation::new("k9", tag))
            .collect();
        let (mut server, mut addr) = start_server(dir.path(), &store).await;
        for (cycle, kill_after) in [200, 600, 1000].into_iter().enumerate() {
            let traffic = Traffic::start(addr, &conversations).await;
            traffic.wait_for_acks(kill_after).await;
            server.kill_9().await;
            let seen = traffic.finish(&mut conversations).await;
            for (live, conv) in seen.iter().zip(&conversations) {
                assert!(
                    live.errors.is_empty(),
                    "{}: {} errors during traffic, the first: {:?}",
                    conv.client,
                    live.errors.len(),
                    &live.errors[..live.errors.len().min(3)]
                );
            }
            let acked: usize = seen.iter().map(|l| l.acks.len()).sum();
            let sent: usize = seen.iter().map(|l| l.sent.len()).sum();
            let unacked = in_flight(&seen);
            eprintln!("cycle {cycle}: killed with {acked} of {sent} messages acknowledged");
            assert!(
                unacked > 0,
                "the kill should land mid-stream, with messages unacknowledged"
            );

            (server, addr) = start_server(dir.path(), &store).await;
            for conv in &mut conversations {
                conv.verify_and_resend(&format!("ws://{addr}")).await;
            }
        }
        let total: usize = conversations.iter().map(|c| c.stored.len()).sum();
        eprintln!("{total} messages stored over {CONVERSATIONS} conversations, 3 kills");
        server.kill_9().await;
    }
}

on_each_backend! {
    async fn sigterm_during_traffic_keeps_every_acknowledged_message_and_exits_0() {
        let dir = TempDir::new().expect("temp dir");
        let store = store_flags();
        let mut conversations: Vec<Conversation> = (0..CONVERSATIONS)
            .map(|tag| Conversation::new("term", tag))
            .collect();
        let (mut server, addr) = start_server(dir.path(), &store).await;
        let traffic = Traffic::start(addr, &conversations).await;
        traffic.wait_for_acks(200).await;
        server.sigterm();
        let status = server
            .wait_exit(EXIT_TIMEOUT, "SIGTERM should stop it gracefully")
            .await;
        assert!(
            status.success(),
            "SIGTERM: exit {status}, expected 0; stderr:\n{}",
            server.stderr()
        );
        let seen = traffic.finish(&mut conversations).await;
        for (live, conv) in seen.iter().zip(&conversations) {
            assert_eq!(
                live.close,
                Some(Some(1001)),
                "{}: the socket should be closed with 1001 (going away)",
                conv.client
            );
            for error in &live.errors {
                assert_eq!(
                    error["code"], "shutting_down",
                    "{}: unexpected error during shutdown",
                    conv.client
                );
            }
        }
        drop(server);

        let (mut server, addr) = start_server(dir.path(), &store).await;
        for conv in &mut conversations {
            conv.verify_and_resend(&format!("ws://{addr}")).await;
        }
        server.sigterm();
        let status = server.wait_exit(EXIT_TIMEOUT, "idle SIGTERM").await;
        assert!(status.success(), "idle SIGTERM: exit {status}");
    }
}
