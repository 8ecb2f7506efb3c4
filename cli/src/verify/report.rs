//! How a verification is shown: steps and verdict for a person, or the whole outcome as JSON
//! for a script.

use mailbridge_service::{SetupStage, Verification};

use super::options::Target;

/// Prints what is being verified, before the steps run.
pub fn print_header(target: &Target, simulator: Option<&str>) {
    if let Some(url) = simulator {
        println!("Exchange simulator on {url} (loopback only), with a correctly set-up tenant");
    }
    println!(
        "Verifying app {} in tenant {} with test mailbox {}",
        target.client_id, target.tenant_id, target.mailbox
    );
}

/// Prints each step, the verdict and the warnings.
pub fn print_human(verification: &Verification) {
    for step in &verification.steps {
        println!(
            "  {:<10} {:<6} {:>6} ms  {}",
            step.name,
            if step.ok { "ok" } else { "failed" },
            step.millis,
            step.detail
        );
    }
    if verification.verified {
        println!("verified");
    } else {
        println!("cannot be verified");
    }
    if let Some(finding) = &verification.finding {
        println!("  stage: {}", stage_name(finding.stage));
        println!("  cause: {}", finding.cause);
        println!("  fix:   {}", finding.fix);
    }
    for warning in &verification.warnings {
        println!("warning: {warning}");
    }
}

/// Prints the outcome as one JSON document, as the service's types serialise it.
pub fn print_json(verification: &Verification) -> Result<(), String> {
    let text = serde_json::to_string_pretty(verification)
        .map_err(|e| format!("writing the outcome as JSON: {e}"))?;
    println!("{text}");
    Ok(())
}

/// The stage as the JSON output names it, so people and scripts see one name.
fn stage_name(stage: SetupStage) -> String {
    serde_json::to_value(stage)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{stage:?}"))
}

#[cfg(test)]
mod tests {
    use mailbridge_service::SetupStage;

    #[test]
    fn stages_have_their_json_names() {
        assert_eq!(super::stage_name(SetupStage::ClientSecret), "client_secret");
        assert_eq!(super::stage_name(SetupStage::TestMailbox), "test_mailbox");
    }
}
