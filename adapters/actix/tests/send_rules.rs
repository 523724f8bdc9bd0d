//! Head-sampling rules see a send span's name, `{Message} send`, when it
//! starts a trace.

use actix::prelude::*;
use opentelemetry::Context as OtelContext;
use opentelemetry_sdk::trace::InMemorySpanExporter;
use spanflow::{Sampler, SamplingRules};
use spanflow_actix::{TracedSend, traced_handler};

#[derive(Message)]
#[rtype(result = "()")]
struct Noise;

#[derive(Message)]
#[rtype(result = "()")]
struct Order;

struct Shop;

impl Actor for Shop {
    type Context = Context<Self>;
}

#[traced_handler]
impl Handler<Noise> for Shop {
    type Result = ();

    fn handle(&mut self, _: Noise, _: &mut Context<Self>) {}
}

#[traced_handler]
impl Handler<Order> for Shop {
    type Result = ();

    fn handle(&mut self, _: Order, _: &mut Context<Self>) {}
}

#[actix::test]
async fn a_rule_on_the_send_name_decides_the_trace_it_starts() {
    let exporter = InMemorySpanExporter::default();
    let pipeline = spanflow::Pipeline::new()
        .with_simple_exporter(exporter.clone())
        .with_sampling_rules(SamplingRules::new().name("Noise send", Sampler::AlwaysOff))
        .install()
        .expect("the only pipeline of this binary");
    let shop = Shop.start();

    // Sent outside any trace: each send span is a root, decided at its start.
    spanflow::in_context(OtelContext::new(), async {
        shop.send_traced(Noise).await.unwrap();
        shop.send_traced(Order).await.unwrap();
    })
    .await;

    pipeline.flush().unwrap();
    let mut names: Vec<String> = exporter
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .map(|span| span.name.into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["Order send", "Shop handle Order"],
        "the Noise trace is dropped by its rule, the Order trace kept"
    );
}
