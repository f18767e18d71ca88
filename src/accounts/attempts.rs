//! Login attempt limits: failed logins are counted per account (the email
//! tried, known or not) and per client IP in fixed windows; over either
//! limit a login is refused with the seconds until the window ends, before
//! any password is checked. A successful login clears its account's count.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::AppError;

/// Failed logins an account may have per window: enough for typos, far
/// too few to guess a password.
pub const MAX_FAILURES_PER_ACCOUNT: u32 = 5;
/// Failed logins one address may have per window, over all accounts (an
/// office behind one address has several agents).
pub const MAX_FAILURES_PER_IP: u32 = 20;
/// How long failures are remembered.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Entries kept before expired ones are swept (bounds the memory an
/// attacker trying many emails can take).
const SWEEP_AT_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct LoginAttempts {
    accounts: Mutex<Failures<String>>,
    addresses: Mutex<Failures<IpAddr>>,
}

impl LoginAttempts {
    /// Refuses while `email` or `ip` is over its limit. Loopback addresses
    /// are counted only per account, as for the other per-IP limits (local
    /// tools, a reverse proxy without `--trust-proxy`).
    pub fn check(&self, email: &str, ip: IpAddr) -> Result<(), AppError> {
        let now = Instant::now();
        let account = lock(&self.accounts).blocked_for(email, MAX_FAILURES_PER_ACCOUNT, now);
        let address = if ip.is_loopback() {
            None
        } else {
            lock(&self.addresses).blocked_for(&ip, MAX_FAILURES_PER_IP, now)
        };
        match account.max(address) {
            Some(wait) => Err(AppError::TooManyLoginAttempts {
                retry_after_secs: wait.as_secs().max(1),
            }),
            None => Ok(()),
        }
    }

    pub fn failed(&self, email: &str, ip: IpAddr) {
        let now = Instant::now();
        lock(&self.accounts).count(email.to_owned(), now);
        if !ip.is_loopback() {
            lock(&self.addresses).count(ip, now);
        }
    }

    pub fn succeeded(&self, email: &str) {
        lock(&self.accounts).0.remove(email);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while counting leaves the counts usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Failures per key: (count, start of the window).
struct Failures<K>(HashMap<K, (u32, Instant)>);

impl<K> Default for Failures<K> {
    fn default() -> Self {
        Failures(HashMap::new())
    }
}

impl<K: Hash + Eq> Failures<K> {
    /// How long `key` must still wait, if it is over `max`.
    fn blocked_for<Q>(&self, key: &Q, max: u32, now: Instant) -> Option<Duration>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (count, since) = self.0.get(key)?;
        let ends = *since + FAILURE_WINDOW;
        (*count >= max && ends > now).then(|| ends - now)
    }

    fn count(&mut self, key: K, now: Instant) {
        if self.0.len() >= SWEEP_AT_ENTRIES {
            self.0
                .retain(|_, (_, since)| now.duration_since(*since) < FAILURE_WINDOW);
        }
        let entry = self.0.entry(key).or_insert((0, now));
        if now.duration_since(entry.1) >= FAILURE_WINDOW {
            *entry = (0, now);
        }
        entry.0 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_refused_after_its_failures_until_the_window_ends() {
        let attempts = LoginAttempts::default();
        let ip: IpAddr = "203.0.113.7".parse().expect("ip");
        for _ in 0..MAX_FAILURES_PER_ACCOUNT {
            assert!(attempts.check("ann@example.com", ip).is_ok());
            attempts.failed("ann@example.com", ip);
        }
        let Err(AppError::TooManyLoginAttempts { retry_after_secs }) =
            attempts.check("ann@example.com", ip)
        else {
            panic!("the account is over its limit");
        };
        assert!(retry_after_secs > 0 && retry_after_secs <= FAILURE_WINDOW.as_secs());
        assert!(attempts.check("bob@example.com", ip).is_ok(), "others may");
    }

    #[test]
    fn an_address_is_refused_after_its_failures_over_all_accounts() {
        let attempts = LoginAttempts::default();
        let ip: IpAddr = "203.0.113.8".parse().expect("ip");
        for n in 0..MAX_FAILURES_PER_IP {
            attempts.failed(&format!("guess{n}@example.com"), ip);
        }
        assert!(attempts.check("new@example.com", ip).is_err());
        let loopback: IpAddr = "127.0.0.1".parse().expect("ip");
        for n in 0..MAX_FAILURES_PER_IP {
            attempts.failed(&format!("guess{n}@example.com"), loopback);
        }
        assert!(attempts.check("new@example.com", loopback).is_ok());
    }

    #[test]
    fn a_success_clears_the_accounts_failures() {
        let attempts = LoginAttempts::default();
        let ip: IpAddr = "203.0.113.9".parse().expect("ip");
        for _ in 0..MAX_FAILURES_PER_ACCOUNT {
            attempts.failed("ann@example.com", ip);
        }
        attempts.succeeded("ann@example.com");
        assert!(attempts.check("ann@example.com", ip).is_ok());
    }
}
