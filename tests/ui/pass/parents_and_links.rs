use opentelemetry::trace::SpanContext;
use opentelemetry::Context;

#[spanflow::trace(parent = cx)]
fn with_context(cx: &Context) {}

#[spanflow::trace(parent = sc.clone())]
fn with_span_context(sc: &SpanContext) {}

#[spanflow::trace(root, link = sc, links = others.iter())]
fn root_with_links(sc: &SpanContext, others: &[SpanContext]) {}

fn main() {
    let cx = Context::current();
    with_context(&cx);
    with_span_context(&SpanContext::empty_context());
    root_with_links(&SpanContext::empty_context(), &[]);
}
