//! The `#[trace]` attribute of spanflow.
//!
//! Use it through the `spanflow` crate, which re-exports it and provides the
//! runtime its expansion calls: `#[spanflow::trace]`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod attr;
mod expand;
mod shape;
mod valid;

use proc_macro::TokenStream;
use quote::ToTokens;
use syn::{Error, Expr, Item, ItemFn, TraitItemFn};

/// Opens a span around every call of a fn. See the `spanflow` crate for the
/// options and examples.
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
