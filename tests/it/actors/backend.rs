//! A backend whose commits a test can make fail or hold back.

use super::*;

/// The in-memory SQLite backend, whose commits the test can make fail
/// (`fail`) or hold back (`hold` until `release`).
pub(super) struct ControlledBackend {
    pub(super) inner: SqliteBackend,
    pub(super) failing: AtomicBool,
    pub(super) held: Mutex<bool>,
    pub(super) released: Condvar,
}

impl ControlledBackend {
    pub(super) fn new() -> Arc<ControlledBackend> {
        Arc::new(ControlledBackend {
            inner: SqliteBackend::open_in_memory().expect("in-memory SQLite"),
            failing: AtomicBool::new(false),
            held: Mutex::new(false),
            released: Condvar::new(),
        })
    }

    /// Every commit from now on fails (`true`) or works again (`false`).
    pub(super) fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Commits wait until `release` (at most `WAIT`, so a failed test
    /// cannot leave the writer thread stuck).
    pub(super) fn hold(&self) {
        *self.held.lock().unwrap() = true;
    }

    pub(super) fn release(&self) {
        *self.held.lock().unwrap() = false;
        self.released.notify_all();
    }
}

impl Backend for ControlledBackend {
    fn load(&self, client: &ClientId, recent: usize) -> Result<Snapshot, StoreError> {
        self.inner.load(client, recent)
    }

    fn before(
        &self,
        client: &ClientId,
        before: u64,
        limit: usize,
        reader: Role,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.inner.before(client, before, limit, reader)
    }

    fn find_by_client_id(
        &self,
        client: &ClientId,
        role: Role,
        id: &str,
    ) -> Result<Option<ChatMessage>, StoreError> {
        self.inner.find_by_client_id(client, role, id)
    }

    fn after(
        &self,
        client: &ClientId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.inner.after(client, after, limit)
    }

    fn summaries(&self, query: &ListQuery) -> Result<ListPage, StoreError> {
        self.inner.summaries(query)
    }

    fn summaries_of(&self, clients: &[ClientId]) -> Result<Vec<ConversationSummary>, StoreError> {
        self.inner.summaries_of(clients)
    }

    fn queue(&self, limit: usize) -> Result<Vec<ClientId>, StoreError> {
        self.inner.queue(limit)
    }

    fn search(&self, query: &SearchQuery) -> Result<SearchPage, StoreError> {
        self.inner.search(query)
    }

    fn assigned_to(&self, agent: AgentId) -> Result<Vec<ClientId>, StoreError> {
        self.inner.assigned_to(agent)
    }

    fn assignee_counts(
        &self,
        status: Option<ConversationStatus>,
    ) -> Result<AssigneeCounts, StoreError> {
        self.inner.assignee_counts(status)
    }

    fn totals(&self) -> Result<Totals, StoreError> {
        self.inner.totals()
    }

    fn commit_batch(&self, writes: &[Write<'_>]) -> Result<Vec<bool>, StoreError> {
        let held = self.held.lock().unwrap();
        drop(
            self.released
                .wait_timeout_while(held, WAIT, |held| *held)
                .unwrap(),
        );
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Backend("disk unplugged (test)".into()));
        }
        self.inner.commit_batch(writes)
    }
}
