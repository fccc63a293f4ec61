//! Driving the `ca-acme` plugin through an order, as a host does (the loop is
//! `pluginhost_testbed::drive_order`, shared with the `edge_agent` example).

use pluginhost::proto::acme::{AcmeRequest, AcmeResponse, ChallengeTask};
use pluginhost::proto::{PluginFailure, Response};
use pluginhost::{Host, Plugin};
use pluginhost_testbed::{drive_order, OrderError};

pub use pluginhost_testbed::AcmeOrder as Issued;

/// Runs `request` (with `order_url: None`) to the end: `publish` is called for each challenge;
/// `Pending` waits as long as the plugin says (at most 2 s a time here).
///
/// # Panics
/// If an invocation fails at the host level, a `Pending` asks for no wait, or the order takes
/// more than `MAX_ORDER_STEPS` steps.
pub fn drive(
    host: &Host,
    plugin: &mut Plugin,
    request: AcmeRequest,
    mut publish: impl FnMut(&ChallengeTask),
) -> Result<Issued, PluginFailure> {
    let mut steps = 0;
    let step = |request: &AcmeRequest| {
        steps += 1;
        let response: Response<AcmeResponse> = host
            .invoke_typed(plugin, "run", request)
            .unwrap_or_else(|e| panic!("step {steps}: the invocation failed: {e}"));
        if let Ok(AcmeResponse::Pending {
            retry_after_seconds,
            ..
        }) = &response
        {
            assert!(*retry_after_seconds >= 1);
        }
        response
    };
    drive_order(request, step, |task| {
        publish(task);
        Ok(())
    })
    .map_err(|e| match e {
        OrderError::Failed(failure) => failure,
        OrderError::TooManySteps => panic!("the order did not finish: {e}"),
    })
}
