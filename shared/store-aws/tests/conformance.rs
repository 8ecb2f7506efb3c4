//! The shared store conformance suites, run against `DynamoDB` and Secrets Manager on moto.
//!
//! Every case gets a store on its own table (or secret prefix), so the cases and the other
//! test binaries never see each other's data.

mod moto;

#[tokio::test]
async fn dynamo_state_store_passes_the_state_store_suite() {
    mailbridge_store::conformance::state_store_suite(async || moto::state_store().await).await;
}

#[tokio::test]
async fn secrets_manager_store_passes_the_secret_store_suite() {
    mailbridge_store::conformance::secret_store_suite(async || moto::secret_store().await).await;
}
