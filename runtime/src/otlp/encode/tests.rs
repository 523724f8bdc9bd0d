//! The encoder against opentelemetry-proto: the bytes written here decode,
//! with opentelemetry-proto's types, to exactly what its own conversion
//! makes of the same spans.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use proptest::prelude::*;
use prost::Message;

use super::{ScopeBody, request, resource, scope, span};

/// Encodes `spans` as the OTLP processor does, grouped by scope in order of
/// first appearance.
fn encode_request(spans: &[SpanData], resource_given: &Resource) -> Vec<u8> {
    let mut scopes: Vec<(InstrumentationScope, Vec<u8>, Vec<u8>)> = Vec::new();
    for data in spans {
        let index = match scopes
            .iter()
            .position(|(known, _, _)| *known == data.instrumentation_scope)
        {
            Some(index) => index,
            None => {
                let mut encoded = Vec::new();
                scope(&mut encoded, &data.instrumentation_scope);
                scopes.push((data.instrumentation_scope.clone(), encoded, Vec::new()));
                scopes.len() - 1
            }
        };
        span(&mut scopes[index].2, data);
    }
    let mut encoded_resource = Vec::new();
    resource(&mut encoded_resource, resource_given);
    let bodies: Vec<ScopeBody<'_>> = scopes
        .iter()
        .map(|(known, encoded, spans)| ScopeBody {
            scope: encoded,
            schema_url: known.schema_url().unwrap_or_default(),
            spans,
        })
        .collect();
    request(
        &encoded_resource,
        resource_given.schema_url().unwrap_or_default(),
        &bodies,
    )
}

fn assert_same_as_opentelemetry_proto(spans: Vec<SpanData>, resource_given: &Resource) {
    let ours = encode_request(&spans, resource_given);
    let decoded = ExportTraceServiceRequest::decode(ours.as_slice()).expect("valid protobuf");
    let expected = ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(
            spans,
            &ResourceAttributesWithSchema::from(resource_given),
        ),
    };
    assert_eq!(decoded, expected);
    // Byte for byte too: prost writes fields in number order, as we do,
    // except `flags` (16), which prost writes last and so do we.
    assert_eq!(ours, expected.encode_to_vec());
}

fn context(trace: u128, span: u64, sampled: bool, remote: bool, state: &str) -> SpanContext {
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let state: TraceState = state.parse().expect("valid tracestate");
    SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        flags,
        remote,
        state,
    )
}

fn at(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

fn every_kind_of_span() -> Vec<SpanData> {
    let spanflow = InstrumentationScope::builder("spanflow")
        .with_version("0.1.0")
        .build();
    let library = InstrumentationScope::builder("reqwest-tracing")
        .with_schema_url("https://opentelemetry.io/schemas/1.38.0")
        .with_attributes([KeyValue::new("library.flavour", "plain")])
        .build();
    let long_name = "a".repeat(200);
    let huge_value = "é".repeat(20_000);
    let attributes = vec![
        KeyValue::new("text", "hello"),
        KeyValue::new("empty", ""),
        KeyValue::new("huge", huge_value),
        KeyValue::new("zero", 0_i64),
        KeyValue::new("negative", -42_i64),
        KeyValue::new("max", i64::MAX),
        KeyValue::new("pi", std::f64::consts::PI),
        KeyValue::new("no", false),
        KeyValue::new("yes", true),
        KeyValue::new("bools", Value::Array(Array::Bool(vec![true, false]))),
        KeyValue::new("ints", Value::Array(Array::I64(vec![0, -1, 7]))),
        KeyValue::new("floats", Value::Array(Array::F64(vec![0.0, -2.5]))),
        KeyValue::new(
            "strings",
            Value::Array(Array::String(vec![
                StringValue::from("a"),
                StringValue::from(""),
            ])),
        ),
        KeyValue::new("nothing", Value::Array(Array::I64(Vec::new()))),
    ];
    let mut events = SpanEvents::default();
    events.events = vec![
        Event::new("retry", at(1_500), vec![KeyValue::new("attempt", 2)], 1),
        Event::with_name("plain"),
    ];
    events.dropped_count = 3;
    let mut links = SpanLinks::default();
    links.links = vec![
        Link::new(
            context(9, 10, true, true, "vendor=1,other=two"),
            vec![KeyValue::new("messaging.operation", "receive")],
            2,
        ),
        Link::with_context(context(11, 12, false, false, "")),
    ];
    links.dropped_count = 1;
    let base = SpanData {
        span_context: context(1, 2, true, false, ""),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: Cow::Borrowed("checkout"),
        start_time: at(1_000),
        end_time: at(2_000),
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: spanflow.clone(),
    };
    let mut spans = Vec::new();
    for (index, kind) in [
        SpanKind::Internal,
        SpanKind::Server,
        SpanKind::Client,
        SpanKind::Producer,
        SpanKind::Consumer,
    ]
    .into_iter()
    .enumerate()
    {
        let mut data = base.clone();
        data.span_kind = kind;
        data.span_context = context(1, 3 + index as u64, true, false, "");
        data.parent_span_id = SpanId::from(2);
        spans.push(data);
    }
    let mut full = base.clone();
    full.span_context = context(u128::MAX, u64::MAX, true, false, "ot=th:8;rv:1");
    full.parent_span_id = SpanId::from(77);
    full.parent_span_is_remote = true;
    full.name = Cow::Owned(long_name);
    full.attributes = attributes;
    full.dropped_attributes_count = 5;
    full.events = events;
    full.links = links;
    full.status = Status::error("card declined: ünïcode");
    spans.push(full);
    let mut ok = base.clone();
    ok.status = Status::Ok;
    ok.instrumentation_scope = library.clone();
    spans.push(ok);
    let mut before_epoch = base.clone();
    before_epoch.start_time = UNIX_EPOCH - Duration::from_secs(1);
    before_epoch.span_context = context(5, 6, false, false, "");
    spans.push(before_epoch);
    spans.push(base);
    spans
}

#[test]
fn every_field_decodes_as_opentelemetry_protos_own_conversion() {
    let resource = Resource::builder_empty()
        .with_attributes([
            KeyValue::new("service.name", "checkout"),
            KeyValue::new("process.pid", 4242),
        ])
        .with_schema_url(
            Vec::<KeyValue>::new(),
            "https://opentelemetry.io/schemas/1.38.0",
        )
        .build();
    assert_same_as_opentelemetry_proto(every_kind_of_span(), &resource);
}

#[test]
fn an_empty_resource_and_one_span() {
    let span = every_kind_of_span().pop().expect("a span");
    assert_same_as_opentelemetry_proto(vec![span], &Resource::builder_empty().build());
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::I64),
        // NaN never equals itself, so the comparison would fail for nothing.
        (-1e300..1e300_f64).prop_map(Value::F64),
        prop::collection::vec(any::<i64>(), 0..5).prop_map(|items| Value::Array(items.into())),
        prop::collection::vec(any::<String>(), 0..5).prop_map(|items| {
            Value::Array(Array::String(
                items.into_iter().map(StringValue::from).collect(),
            ))
        }),
    ]
}

fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    prop::collection::vec(
        ("[a-z.]{0,20}", value()).prop_map(|(key, value)| KeyValue::new(key, value)),
        0..6,
    )
}

prop_compose! {
    fn span_data()(
        trace in any::<u128>(),
        id in any::<u64>(),
        parent in any::<u64>(),
        sampled in any::<bool>(),
        remote in any::<bool>(),
        name in ".{0,300}",
        kind in 0..5_usize,
        start in any::<u64>(),
        length in any::<u32>(),
        span_attributes in attributes(),
        event_attributes in attributes(),
        link_attributes in attributes(),
        error in proptest::option::of(".{0,40}"),
        scope_name in "(spanflow|library)",
    ) -> SpanData {
        let mut events = SpanEvents::default();
        if !event_attributes.is_empty() {
            events.events.push(Event::new("event", at(start), event_attributes, 0));
        }
        let mut links = SpanLinks::default();
        if !link_attributes.is_empty() {
            links.links.push(Link::new(context(trace ^ 1, id ^ 1, sampled, remote, ""), link_attributes, 0));
        }
        SpanData {
            span_context: context(trace, id, sampled, false, ""),
            parent_span_id: SpanId::from(parent),
            parent_span_is_remote: remote,
            span_kind: [SpanKind::Internal, SpanKind::Server, SpanKind::Client, SpanKind::Producer, SpanKind::Consumer][kind].clone(),
            name: Cow::Owned(name),
            start_time: at(start / 2),
            end_time: at(start / 2 + u64::from(length)),
            attributes: span_attributes,
            dropped_attributes_count: 0,
            events,
            links,
            status: error.map_or(Status::Unset, Status::error),
            instrumentation_scope: InstrumentationScope::builder(scope_name).build(),
        }
    }
}

proptest! {
    #[test]
    fn any_batch_decodes_as_opentelemetry_protos_own_conversion(
        spans in prop::collection::vec(span_data(), 1..20),
    ) {
        let resource = Resource::builder_empty()
            .with_attribute(KeyValue::new("service.name", "proptest"))
            .build();
        assert_same_as_opentelemetry_proto(spans, &resource);
    }
}

mod records {
    //! A spanflow record encoded directly gives the bytes its `SpanData`
    //! gives.

    use std::borrow::Cow;
    use std::time::SystemTime;

    use opentelemetry::KeyValue;
    use opentelemetry::trace::{Event, Link, SpanId, Status, TraceFlags, TraceId};

    use super::super::{record_span, span};
    use super::context;
    use crate::callsite::{CallSite, Kind, Naming};
    use crate::clock::{self, WallAnchor};
    use crate::limits::Limits;
    use crate::log_event::{LogBuffers, TargetName};
    use crate::record::{Extras, FutureClocks, SpanEvent, SpanRecord};
    use opentelemetry_sdk::trace::SpanLimits;

    static FIXED: CallSite = CallSite::new(
        Naming::Fixed {
            name: "checkout",
            function: "shop::checkout",
        },
        "src/shop.rs",
        42,
        Kind::Server,
    );
    static METHOD: CallSite = CallSite::new(
        Naming::Method {
            method: "reserve",
            name: None,
        },
        "src/inventory.rs",
        7,
        Kind::Consumer,
    );

    fn assert_same_bytes(mut record: Box<SpanRecord>) {
        let anchor = WallAnchor::new();
        let scope = opentelemetry::InstrumentationScope::builder("spanflow").build();
        let mut direct = Vec::new();
        record_span(&mut direct, &record, anchor);
        let mut through_span_data = Vec::new();
        span(
            &mut through_span_data,
            &record.take_span_data(anchor, &scope),
        );
        assert_eq!(direct, through_span_data);
    }

    fn record(callsite: &'static CallSite) -> Box<SpanRecord> {
        let mut record = Box::new(SpanRecord::blank(callsite));
        record.trace_id = TraceId::from(0x1234_u128);
        record.span_id = SpanId::from(0x56_u64);
        record.flags = TraceFlags::SAMPLED;
        record.start = clock::now();
        record.end = record.start + 1_000;
        record
    }

    static LIBRARY: CallSite = CallSite::new(
        Naming::Library {
            name: "HTTP request",
        },
        "src/server.rs",
        3,
        Kind::Server,
    );

    #[test]
    fn a_plain_record() {
        assert_same_bytes(record(&FIXED));
    }

    #[test]
    fn a_librarys_record_has_no_code_attributes_either_way() {
        let library = || {
            let mut library = record(&LIBRARY);
            library.attributes = vec![KeyValue::new("http.route", "/orders/{id}")];
            library
        };
        let scope = opentelemetry::InstrumentationScope::builder("spanflow").build();
        let data = library().take_span_data(WallAnchor::new(), &scope);
        let keys: Vec<&str> = data.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["http.route"]);
        assert_eq!(data.name, "HTTP request");
        assert_same_bytes(library());
    }

    #[test]
    fn a_record_with_everything() {
        METHOD.resolve(Some(|| "shop::inventory::Stock<u8>"));
        let mut full = record(&METHOD);
        full.parent_span_id = SpanId::from(9_u64);
        full.parent_is_remote = true;
        full.cancelled = true;
        full.clocks = Some(FutureClocks {
            queued_from: full.start,
            first_poll: Some(full.start + 5),
            busy_ticks: u64::MAX,
            polls: 3,
        });
        full.trace_state = Some(std::sync::Arc::new("ot=th:8".parse().expect("valid")));
        full.attributes = vec![
            KeyValue::new("order.id", 7),
            KeyValue::new("note", "x".repeat(300)),
        ];
        full.name = Some(Cow::Owned("GET /orders/{id}".into()));
        full.extras = Some(Box::new(Extras {
            status: Status::error("declined"),
            events: vec![SpanEvent::Event(Event::new(
                "retry",
                SystemTime::now(),
                vec![KeyValue::new("n", 2)],
                0,
            ))],
            logs: LogBuffers::new(),
            links: vec![Link::with_context(context(3, 4, true, true, "a=b"))],
            // What the span limits left out is counted on both paths.
            dropped_attributes: 5,
            dropped_events: 6,
            dropped_links: 7,
        }));
        // Log lines, interleaved with the event, one with its own target,
        // fields and more attributes than an event keeps.
        let limits = Limits {
            counts: SpanLimits {
                max_attributes_per_event: 4,
                ..SpanLimits::default()
            },
            value_length: Some(12),
        };
        let (mut thread, line) = crate::log_event::written(
            full.start + 3,
            "WARN",
            TargetName::Static("shop::payment"),
            "card declined, retrying",
            vec![
                KeyValue::new("attempt", 2),
                KeyValue::new("gateway", "stripe"),
            ],
        );
        full.add_log(&mut thread, line, &limits);
        full.add_event(
            Event::new("after", SystemTime::now(), Vec::new(), 0),
            &limits,
        );
        full.add_event_at(
            full.start + 5,
            Event::new("timed", SystemTime::UNIX_EPOCH, Vec::new(), 0),
            &limits,
        );
        let (mut thread, line) = crate::log_event::written(
            full.start + 4,
            "INFO",
            TargetName::Borrowed("audit"),
            "ok",
            Vec::new(),
        );
        full.add_log(&mut thread, line, &limits);
        assert_same_bytes(full);
    }

    #[test]
    fn a_record_before_its_anchor_and_unset_status() {
        let mut early = record(&FIXED);
        early.start = 0;
        early.end = 1;
        early.extras().status = Status::Ok;
        assert_same_bytes(early);
    }
}
