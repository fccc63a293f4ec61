//! Driving the `ca-acme` plugin through an order, as a host does: place the order, publish the
//! challenges, continue, wait when the CA says so.

use std::time::Duration;

use pluginhost::proto::acme::{AcmeRequest, AcmeResponse, ChallengeTask};
use pluginhost::proto::{PluginFailure, Response};
use pluginhost::{Host, Plugin};

/// How many steps an order may take before the driver gives up.
pub const MAX_STEPS: usize = 30;

/// What an order came to.
#[derive(Debug)]
pub struct Issued {
    /// The PEM chain.
    pub chain_pem: String,
    /// Every challenge the host was asked to publish.
    pub published: Vec<ChallengeTask>,
    /// The steps (invocations) it took.
    pub steps: usize,
}

/// Runs `request` (with `order_url: None`) to the end: `publish` is called for each challenge;
/// `Pending` waits as long as the plugin says (at most 2 s a time here).
///
/// # Panics
/// If an invocation fails at the host level or the order takes more than [`MAX_STEPS`] steps.
pub fn drive(
    host: &Host,
    plugin: &mut Plugin,
    mut request: AcmeRequest,
    mut publish: impl FnMut(&ChallengeTask),
) -> Result<Issued, PluginFailure> {
    let mut published = Vec::new();
    for step in 1..=MAX_STEPS {
        let response: Response<AcmeResponse> = host
            .invoke_typed(plugin, "run", &request)
            .unwrap_or_else(|e| panic!("step {step}: the invocation failed: {e}"));
        match response? {
            AcmeResponse::Challenges {
                order_url,
                challenges,
            } => {
                for task in &challenges {
                    publish(task);
                }
                published.extend(challenges);
                request.order_url = Some(order_url);
            }
            AcmeResponse::Pending {
                order_url,
                retry_after_seconds,
            } => {
                assert!(retry_after_seconds >= 1);
                std::thread::sleep(Duration::from_secs(u64::from(retry_after_seconds.min(2))));
                request.order_url = Some(order_url);
            }
            AcmeResponse::Issued { chain_pem, .. } => {
                return Ok(Issued {
                    chain_pem,
                    published,
                    steps: step,
                })
            }
        }
    }
    panic!("the order did not finish in {MAX_STEPS} steps");
}
