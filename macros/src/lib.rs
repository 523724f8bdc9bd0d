//! The `#[trace]` attribute of spanflow.
//!
//! Use it through the `spanflow` crate, which re-exports it and provides the
//! runtime its expansion calls: `#[spanflow::trace]`.
//!
//! The stages are one file each: `attr.rs` parses the options, `valid.rs`
//! checks them against the fn, `shape.rs` decides what the span covers
//! (a call, an `async fn` body, a returned `impl Future`, or the boxed future
//! of an `#[async_trait]` method), and `expand.rs` writes the code.
//!
//! The signature is kept as written; only the body changes, and it calls
//! nothing but `::spanflow::__private`. For example
//!
//! ```text
//! #[trace(kind = client, err, args(order))]
//! async fn reserve(order: u64) -> Result<(), String> {
//!     stock(order).await?;
//!     Ok(())
//! }
//! ```
//!
//! expands to (formatted):
//!
//! ```text
//! async fn reserve(order: u64) -> Result<(), String> {
//!     static __SPANFLOW_CALLSITE: ::spanflow::__private::CallSite =
//!         ::spanflow::__private::CallSite::new(
//!             ::spanflow::__private::Naming::Fixed {
//!                 name: "reserve",
//!                 function: ::core::concat!(::core::module_path!(), "::", "reserve"),
//!             },
//!             ::core::file!(),
//!             ::core::line!(),
//!             ::spanflow::__private::Kind::Client,
//!         );
//!     #[allow(unused_mut)]
//!     let mut __spanflow_span =
//!         ::spanflow::__private::start(&__SPANFLOW_CALLSITE, ::core::option::Option::None);
//!     if __spanflow_span.is_recording() {
//!         ::spanflow::__private::field(
//!             &mut __spanflow_span,
//!             "order",
//!             ::spanflow::__private::typed_value(&order),
//!         );
//!     }
//!     #[allow(clippy::redundant_closure_call)]
//!     {
//!         ::spanflow::__private::instrument_with(
//!             __spanflow_span,
//!             async move {
//!                 stock(order).await?;
//!                 Ok(())
//!             },
//!             |__spanflow_span: &mut ::spanflow::__private::Span, __spanflow_ret| {
//!                 ::spanflow::__private::record_err_display(__spanflow_span, __spanflow_ret);
//!             },
//!         )
//!         .await
//!     }
//! }
//! ```
//!
//! With `#[async_trait]`, the impl's attribute always expands first (it sits
//! on the impl, `#[trace]` on the method), turning the method into a fn that
//! returns `Box::pin(async move { .. })`; `#[trace]` recognises that body and
//! traces the async block, so the span covers the work, not the boxing. The
//! same holds for default methods of an `#[async_trait]` trait.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod attr;
mod expand;
mod handler;
mod shape;
mod valid;

use proc_macro::TokenStream;
use quote::ToTokens;
use syn::{Error, Expr, Item, ItemFn, TraitItemFn};

/// Opens a span around every call of a fn: for the whole call of a sync fn,
/// across every poll of an `async fn` or of the future a fn returns, with
/// the caller's span as parent.
///
/// | option | meaning |
/// | --- | --- |
/// | `name = "inventory.reserve"` | span name; default: the fn name, `Type::method` for methods |
/// | `kind = client \| server \| producer \| consumer \| internal` | span kind; default `internal` |
/// | `args(a, b)` | record these arguments: typed when primitive or string, `Debug` otherwise |
/// | `fields(key = expr, key = %expr, key = ?expr)` | record expressions as typed values, or by `Display` (`%`) / `Debug` (`?`); evaluated only when the span records |
/// | `err`, `err(Debug)` | on `Err(e)`: status Error with the error's text and an `exception` event |
/// | `ret`, `ret(Display)` | the return value as `spanflow.return` |
/// | `parent = expr` | explicit parent: a `Context`, `SpanContext`, `&Span`, or `Option` of those |
/// | `root` | start a new trace, linked to the current span |
/// | `link = expr`, `links = expr` | link other spans |
/// | `skip(a)`, `skip_all` | accepted as `tracing::instrument` has them; nothing is recorded unless `args` names it |
///
/// Misuse is a compile error on the offending token, and the options of
/// `tracing::instrument` and `fastrace::trace` it does not take say what
/// to write instead. Use it as `#[spanflow::trace]`; the `spanflow` crate's
/// docs have the examples.
#[proc_macro_attribute]
pub fn trace(args: TokenStream, input: TokenStream) -> TokenStream {
    let options = syn::parse::<attr::Options>(args);
    let item = parse_fn(input.clone());
    let (options, item) = match (options, item) {
        (Ok(options), Ok(item)) => (options, item),
        (Err(mut error), Err(item_error)) => {
            error.combine(item_error);
            return with_original(error, input);
        }
        (Err(error), Ok(_)) | (Ok(_), Err(error)) => return with_original(error, input),
    };
    if let Err(error) = valid::check(&options, &item) {
        return with_original(error, input);
    }
    expand::expand(&options, item).into()
}

/// Generates the traced handler of an actix actor from its
/// `impl Handler<M>` block. See the `spanflow-actix` crate.
#[proc_macro_attribute]
pub fn traced_handler(args: TokenStream, input: TokenStream) -> TokenStream {
    handler::traced_handler(args.into(), input.into()).into()
}

/// The fn, or an error saying what `#[trace]` was put on instead.
fn parse_fn(input: TokenStream) -> syn::Result<ItemFn> {
    if let Ok(item) = syn::parse::<ItemFn>(input.clone()) {
        return Ok(item);
    }
    if let Ok(method) = syn::parse::<TraitItemFn>(input.clone()) {
        return Err(Error::new_spanned(
            &method.sig,
            "#[trace] needs a fn body: put it on the fn's implementation, not on its declaration",
        ));
    }
    if let Ok(item) = syn::parse::<Item>(input.clone()) {
        let what = match &item {
            Item::Struct(_) => "a struct",
            Item::Enum(_) => "an enum",
            Item::Impl(_) => "an impl block (put it on the methods)",
            Item::Trait(_) => "a trait (put it on the fns that have bodies)",
            Item::Mod(_) => "a module",
            Item::Const(_) => "a const",
            Item::Static(_) => "a static",
            _ => "this item",
        };
        return Err(Error::new_spanned(
            item_head(&item),
            format!("#[trace] goes on a fn, not on {what}"),
        ));
    }
    if let Ok(Expr::Closure(closure)) = syn::parse::<Expr>(input.clone()) {
        return Err(Error::new_spanned(
            closure.or1_token_or_inputs(),
            "#[trace] cannot go on a closure: move the closure's body into a fn and trace that",
        ));
    }
    Err(Error::new(
        proc_macro2::Span::call_site(),
        "#[trace] goes on a fn with a body",
    ))
}

/// The tokens that name an item, for an error that does not underline a
/// whole struct body.
fn item_head(item: &Item) -> proc_macro2::TokenStream {
    match item {
        Item::Struct(item) => item.ident.to_token_stream(),
        Item::Enum(item) => item.ident.to_token_stream(),
        Item::Trait(item) => item.ident.to_token_stream(),
        Item::Mod(item) => item.ident.to_token_stream(),
        Item::Const(item) => item.ident.to_token_stream(),
        Item::Static(item) => item.ident.to_token_stream(),
        Item::Impl(item) => item.self_ty.to_token_stream(),
        other => other.to_token_stream(),
    }
}

trait ClosureHead {
    fn or1_token_or_inputs(&self) -> proc_macro2::TokenStream;
}

impl ClosureHead for syn::ExprClosure {
    fn or1_token_or_inputs(&self) -> proc_macro2::TokenStream {
        let mut head = proc_macro2::TokenStream::new();
        self.inputs_begin.to_tokens(&mut head);
        self.inputs.to_tokens(&mut head);
        self.inputs_end.to_tokens(&mut head);
        head
    }
}

/// The error, plus the item untouched so the rest of the crate still
/// type-checks and the IDE keeps working.
fn with_original(error: Error, input: TokenStream) -> TokenStream {
    let mut output = error.to_compile_error();
    output.extend(proc_macro2::TokenStream::from(input));
    output.into()
}
