//! `--simulator`: the Exchange simulator in this process with a correctly set-up tenant, so
//! verification can be tried on a machine without a Microsoft 365 tenant.

use chrono::{Duration, Utc};
use mailbridge_ews_sim::Simulator;
use mailbridge_ews_sim::model::SeedSpec;
use mailbridge_ews_sim::preset::{PresetTenant, contoso};

use super::options::Fallback;

/// A running simulator and the tenant set up in it.
pub struct LocalTenant {
    /// Kept so the simulator serves until the command ends.
    pub sim: Simulator,
    pub tenant: PresetTenant,
}

impl LocalTenant {
    /// Starts the simulator on a free loopback port with Contoso (an app with
    /// `full_access_as_app` and consent, and two mailboxes, the first holding a few contacts).
    pub async fn start() -> Result<LocalTenant, String> {
        let sim = Simulator::start()
            .await
            .map_err(|e| format!("starting the Exchange simulator: {e}"))?;
        let tenant =
            contoso(sim.world()).map_err(|e| format!("setting up the simulated tenant: {e}"))?;
        let seed = SeedSpec {
            contacts: 5,
            events: 0,
            recurring: 0,
            seed: 1,
            from: None,
        };
        sim.world()
            .seed(&tenant.mailboxes[0], &seed)
            .map_err(|e| format!("seeding the simulated mailbox: {e}"))?;
        Ok(LocalTenant { sim, tenant })
    }

    /// The simulated tenant's values for the flags left out, and the simulator's endpoints.
    pub fn fallback(&self) -> Fallback {
        Fallback {
            tenant_id: self.tenant.tenant_id.clone(),
            client_id: self.tenant.client_id.clone(),
            mailbox: self.tenant.mailboxes[0].clone(),
            // The preset's secret lasts a year from the simulator's clock, which starts now.
            secret_expires: (Utc::now() + Duration::days(365)).date_naive(),
            authority: self.sim.base_url(),
            ews_url: self.sim.ews_url(),
        }
    }
}
