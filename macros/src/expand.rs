//! Code generation: the fn as written, with its body run inside a span.
//!
//! Generated code calls only `::spanflow::__private`, so an expansion stays a
//! few lines and never names `opentelemetry` types.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Block, Expr, FnArg, ItemFn, Pat, Type, parse_quote};

use crate::attr::{Format, Kind, Options};
use crate::shape::{Shape, boxed_async_block_mut, classify};

pub(crate) fn expand(options: &Options, mut item: ItemFn) -> TokenStream {
    let shape = classify(&item);
    let callsite = callsite(options, &item);
    let start = start(options, &item);
    let record = record_when_recording(options, &item);
    let hook = hook(options);
    let block = &item.block;

    let run = match shape {
        Shape::Sync => match hook {
            None => quote! { ::spanflow::__private::run_sync(__spanflow_span, move || #block) },
            Some(hook) => {
                quote! { ::spanflow::__private::run_sync_with(__spanflow_span, move || #block, #hook) }
            }
        },
        Shape::AsyncFn => {
            let future = quote_spanned!(block.span()=> async move #block);
            let traced = instrument(&future, hook.as_ref());
            quote! { #traced.await }
        }
        Shape::ImplFuture => {
            let future = quote! { (move || #block)() };
            instrument(&future, hook.as_ref())
        }
        Shape::AsyncTrait => {
            let mut block: Block = (**block).clone();
            if let Some(async_block) = boxed_async_block_mut(&mut block) {
                let original = async_block.to_token_stream();
                let traced = instrument(&original, hook.as_ref());
                *async_block = Expr::Verbatim(traced);
            }
            let stmts = &block.stmts;
            quote! { #(#stmts)* }
        }
    };

    item.block = parse_quote!({
        #callsite
        #[allow(unused_mut)]
        let mut __spanflow_span = #start;
        #record
        #[allow(clippy::redundant_closure_call)]
        {
            #run
        }
    });
    item.into_token_stream()
}

fn instrument(future: &TokenStream, hook: Option<&TokenStream>) -> TokenStream {
    match hook {
        None => quote! { ::spanflow::__private::instrument(__spanflow_span, #future) },
        Some(hook) => {
            quote! { ::spanflow::__private::instrument_with(__spanflow_span, #future, #hook) }
        }
    }
}

/// The `static` with the call site's name, file, line and kind.
fn callsite(options: &Options, item: &ItemFn) -> TokenStream {
    let ident = &item.sig.ident;
    let fn_name = ident.unraw().to_string();
    let kind = format_ident!(
        "{}",
        options
            .kind
            .as_ref()
            .map_or(Kind::Internal, |(_, kind)| *kind)
            .variant()
    );
    let naming = if is_method(item) {
        let name = match &options.name {
            Some((_, name)) => quote! { ::core::option::Option::Some(#name) },
            None => quote! { ::core::option::Option::None },
        };
        quote! { ::spanflow::__private::Naming::Method { method: #fn_name, name: #name } }
    } else {
        let name = match &options.name {
            Some((_, name)) => name.to_token_stream(),
            None => fn_name.to_token_stream(),
        };
        quote! {
            ::spanflow::__private::Naming::Fixed {
                name: #name,
                function: ::core::concat!(::core::module_path!(), "::", #fn_name),
            }
        }
    };
    let line = quote_spanned!(ident.span()=> ::core::line!());
    quote! {
        static __SPANFLOW_CALLSITE: ::spanflow::__private::CallSite =
            ::spanflow::__private::CallSite::new(
                #naming,
                ::core::file!(),
                #line,
                ::spanflow::__private::Kind::#kind,
            );
    }
}

fn start(options: &Options, item: &ItemFn) -> TokenStream {
    let self_type = if is_method(item) {
        quote! { ::spanflow::__private::self_type::<Self>() }
    } else {
        quote! { ::core::option::Option::None }
    };
    if let Some((_, parent)) = &options.parent {
        let parent = quote_spanned!(parent.span()=> #parent);
        quote! {
            ::spanflow::__private::start_with_parent(&__SPANFLOW_CALLSITE, #self_type, #parent)
        }
    } else if options.root.is_some() {
        quote! { ::spanflow::__private::start_root(&__SPANFLOW_CALLSITE, #self_type) }
    } else {
        quote! { ::spanflow::__private::start(&__SPANFLOW_CALLSITE, #self_type) }
    }
}

/// `args`, `fields`, `link` and `links`: evaluated only for recorded spans.
fn record_when_recording(options: &Options, item: &ItemFn) -> TokenStream {
    let mut records = Vec::new();
    for name in options.args.iter().flat_map(|(_, names)| names) {
        let key = name.unraw().to_string();
        let value = if arg_type(item, name).is_some_and(is_typed_value) {
            quote_spanned!(name.span()=> ::spanflow::__private::typed_value(&#name))
        } else {
            quote_spanned!(name.span()=> ::spanflow::__private::debug_value(&#name))
        };
        records.push(quote! {
            ::spanflow::__private::field(&mut __spanflow_span, #key, #value);
        });
    }
    for field in options.fields.iter().flat_map(|(_, fields)| fields) {
        let key = &field.key;
        let expr = &field.value;
        let value = match field.format {
            // A string literal stays a `&'static str`: no copy per span.
            None if is_str_literal(expr) => {
                quote_spanned!(expr.span()=> ::spanflow::__private::static_str(#expr))
            }
            None => quote_spanned!(expr.span()=> ::spanflow::__private::typed_value(&(#expr))),
            Some(Format::Display) => {
                quote_spanned!(expr.span()=> ::spanflow::__private::display_value(&(#expr)))
            }
            Some(Format::Debug) => {
                quote_spanned!(expr.span()=> ::spanflow::__private::debug_value(&(#expr)))
            }
        };
        records.push(quote! { ::spanflow::__private::field(&mut __spanflow_span, #key, #value); });
    }
    if let Some((_, link)) = &options.link {
        records.push(quote_spanned! {link.span()=>
            ::spanflow::__private::link(&mut __spanflow_span, #link);
        });
    }
    if let Some((_, links)) = &options.links {
        records.push(quote_spanned! {links.span()=>
            ::spanflow::__private::links(&mut __spanflow_span, #links);
        });
    }
    if records.is_empty() {
        return TokenStream::new();
    }
    quote! {
        if __spanflow_span.is_recording() {
            #(#records)*
        }
    }
}

fn is_str_literal(expr: &Expr) -> bool {
    match expr {
        Expr::Lit(literal) => matches!(literal.lit, syn::Lit::Str(_)),
        Expr::Paren(inner) => is_str_literal(&inner.expr),
        Expr::Group(inner) => is_str_literal(&inner.expr),
        _ => false,
    }
}

fn arg_type<'a>(item: &'a ItemFn, name: &syn::Ident) -> Option<&'a Type> {
    item.sig.inputs.iter().find_map(|input| match input {
        FnArg::Typed(typed) => match &*typed.pat {
            Pat::Ident(ident) if ident.ident == *name => Some(&*typed.ty),
            _ => None,
        },
        FnArg::Receiver(_) => None,
    })
}

/// Whether an argument of this written type records as a typed value:
/// decided from the syntax, so that generic and `impl Trait` arguments
/// (whose traits the macro cannot see) consistently record through `Debug`.
fn is_typed_value(ty: &Type) -> bool {
    match ty {
        Type::Reference(reference) => is_typed_value(&reference.elem),
        Type::Paren(paren) => is_typed_value(&paren.elem),
        Type::Path(path) if path.qself.is_none() => {
            let Some(last) = path.path.segments.last() else {
                return false;
            };
            last.arguments.is_none()
                && matches!(
                    last.ident.to_string().as_str(),
                    "bool"
                        | "i8"
                        | "i16"
                        | "i32"
                        | "i64"
                        | "i128"
                        | "isize"
                        | "u8"
                        | "u16"
                        | "u32"
                        | "u64"
                        | "u128"
                        | "usize"
                        | "f32"
                        | "f64"
                        | "str"
                        | "String"
                )
        }
        _ => false,
    }
}

/// `err` and `ret`: a closure that sees the return value of a recorded span.
fn hook(options: &Options) -> Option<TokenStream> {
    if options.err.is_none() && options.ret.is_none() {
        return None;
    }
    let err = options.err.as_ref().map(|(token, format)| {
        let record = match format {
            Format::Display => quote!(record_err_display),
            Format::Debug => quote!(record_err_debug),
        };
        quote_spanned!(token.span()=> ::spanflow::__private::#record(__spanflow_span, __spanflow_ret);)
    });
    let ret = options.ret.as_ref().map(|(token, format)| {
        let record = match format {
            Format::Display => quote!(record_ret_display),
            Format::Debug => quote!(record_ret_debug),
        };
        quote_spanned!(token.span()=> ::spanflow::__private::#record(__spanflow_span, __spanflow_ret);)
    });
    Some(quote! {
        |__spanflow_span: &mut ::spanflow::__private::Span, __spanflow_ret| { #err #ret }
    })
}

/// A method or associated fn whose self type can be named: it has a receiver
/// or mentions `Self`.
fn is_method(item: &ItemFn) -> bool {
    let sig = &item.sig;
    sig.inputs
        .iter()
        .any(|input| matches!(input, FnArg::Receiver(_)))
        || mentions_self(sig.inputs.to_token_stream())
        || mentions_self(sig.output.to_token_stream())
}

fn mentions_self(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == "Self",
        TokenTree::Group(group) => mentions_self(group.stream()),
        _ => false,
    })
}

trait Unraw {
    fn unraw(&self) -> syn::Ident;
}

impl Unraw for syn::Ident {
    fn unraw(&self) -> syn::Ident {
        let text = self.to_string();
        match text.strip_prefix("r#") {
            Some(plain) => syn::Ident::new(plain, Span::call_site()),
            None => self.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prints the expansion of a typical async fn (`cargo test -p
    /// spanflow-macros -- --nocapture`) and keeps it about a screen long.
    #[test]
    fn a_typical_async_fn_expands_to_about_a_screen() {
        let options: Options = syn::parse_quote!(kind = client, err, args(order));
        let item: ItemFn = syn::parse_quote! {
            async fn reserve(order: u64) -> Result<(), String> {
                stock(order).await?;
                Ok(())
            }
        };
        let expanded = expand(&options, item).to_string();
        println!("{expanded}");
        let statements = expanded.matches(';').count();
        assert!(statements <= 12, "{statements} statements: {expanded}");
    }
}
