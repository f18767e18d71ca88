//! What the server stored, read back through its REST API.

use serde_json::Value;

use crate::ctx::Ctx;
use crate::frames::number_of;

/// The stored messages of `client` through the REST API: the customer's
/// ids (`f<n>`) found, total count, and whether the seqs are gapless.
pub async fn stored_messages(
    ctx: &Ctx,
    client: &str,
    count: usize,
) -> Result<(Vec<bool>, u64, bool), String> {
    let http = reqwest::Client::new();
    let mut stored = vec![false; count];
    let (mut after, mut total, mut gapless) = (0u64, 0u64, true);
    loop {
        let url = format!(
            "{}/api/conversations/{client}/messages?after={after}&limit=200",
            ctx.common.url.trim_end_matches('/')
        );
        let page: Value = http
            .get(&url)
            .bearer_auth(&ctx.common.agent_token)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?
            .error_for_status()
            .map_err(|e| format!("GET {url}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        let messages = page["messages"].as_array().cloned().unwrap_or_default();
        for m in &messages {
            let seq = m["seq"].as_u64().unwrap_or(0);
            if seq != after + 1 {
                gapless = false;
            }
            after = seq;
            total += 1;
            if m["from"] == "customer" {
                let n = m["id"].as_str().and_then(|id| number_of(id, "f"));
                if let Some(n) = n.filter(|&n| n < count) {
                    stored[n] = true;
                }
            }
        }
        if messages.is_empty() || !page["has_more"].as_bool().unwrap_or(false) {
            break;
        }
    }
    Ok((stored, total, gapless))
}
