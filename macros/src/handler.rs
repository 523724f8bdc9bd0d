//! `#[traced_handler]`: the `impl Handler<Traced<M>>` of spanflow-actix,
//! generated from the user's `impl Handler<M>`.
//!
//! One stage per function: `parse` finds the parts of the impl (or says
//! what is wrong, on the offending token), `expand` writes the second impl.
//! Generated code calls only `::spanflow_actix::__private`.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{
    Error, FnArg, GenericArgument, ImplItem, ImplItemFn, ItemImpl, LitStr, Path, PathArguments,
    Type, TypePath,
};

/// The parts of `impl Handler<M> for A { type Result = R; fn handle(..) }`.
struct HandlerImpl<'a> {
    item: &'a ItemImpl,
    trait_path: &'a Path,
    message: &'a Type,
    result: &'a Type,
    context: &'a Type,
}

/// How the handler's result is traced, from the written `type Result`.
enum Response {
    Value,
    /// `MessageResult<M>` answers only `M`: the traced handler answers with
    /// `MessageResult<Traced<M>>`.
    MessageResult,
    Future,
    ActorFuture,
    Atomic,
}

pub(crate) fn traced_handler(args: TokenStream, input: TokenStream) -> TokenStream {
    let item: ItemImpl = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = Error::new_spanned(
                &input,
                "#[traced_handler] goes on an `impl Handler<M> for Actor` block",
            );
            return with_original(error, input);
        }
    };
    let name = match parse_name(args) {
        Ok(name) => name,
        Err(error) => return with_original(error, input),
    };
    match parse(&item).and_then(|parts| expand(&parts, name.as_ref())) {
        Ok(traced) => quote! { #item #traced },
        Err(error) => with_original(error, input),
    }
}

/// The one option, `name = "..."`, naming the handler's span.
fn parse_name(args: TokenStream) -> syn::Result<Option<LitStr>> {
    if args.is_empty() {
        return Ok(None);
    }
    let parser = |input: syn::parse::ParseStream<'_>| -> syn::Result<LitStr> {
        let option: syn::Ident = input.parse()?;
        if option != "name" {
            return Err(Error::new_spanned(
                &option,
                format!("unknown option `{option}`; #[traced_handler] takes only name = \"...\""),
            ));
        }
        input.parse::<syn::Token![=]>()?;
        let name: LitStr = input.parse()?;
        if !input.is_empty() {
            return Err(input.error("#[traced_handler] takes one option: name = \"...\""));
        }
        Ok(name)
    };
    syn::parse::Parser::parse2(parser, args).map(Some)
}

fn parse(item: &ItemImpl) -> syn::Result<HandlerImpl<'_>> {
    let Some((trait_path, _)) = &item.trait_ else {
        return Err(Error::new_spanned(
            &item.self_ty,
            "#[traced_handler] goes on `impl Handler<M> for Actor`, not an inherent impl",
        ));
    };
    let last = trait_path
        .segments
        .last()
        .filter(|segment| segment.ident == "Handler");
    let message = match last.map(|segment| &segment.arguments) {
        Some(PathArguments::AngleBracketed(arguments)) if arguments.args.len() == 1 => {
            match arguments.args.first() {
                Some(GenericArgument::Type(message)) => message,
                _ => {
                    return Err(Error::new_spanned(
                        arguments,
                        "expected `Handler<MessageType>`",
                    ));
                }
            }
        }
        _ => {
            return Err(Error::new_spanned(
                trait_path,
                "#[traced_handler] goes on an impl of actix's `Handler<M>`",
            ));
        }
    };
    let result = item
        .items
        .iter()
        .find_map(|inner| match inner {
            ImplItem::Type(ty) if ty.ident == "Result" => Some(&ty.ty),
            _ => None,
        })
        .ok_or_else(|| Error::new_spanned(&item.self_ty, "the handler has no `type Result`"))?;
    let handle: &ImplItemFn = item
        .items
        .iter()
        .find_map(|inner| match inner {
            ImplItem::Fn(function) if function.sig.ident == "handle" => Some(function),
            _ => None,
        })
        .ok_or_else(|| Error::new_spanned(&item.self_ty, "the handler has no `fn handle`"))?;
    let context = match handle.sig.inputs.iter().nth(2) {
        Some(FnArg::Typed(context)) => &*context.ty,
        _ => {
            return Err(Error::new_spanned(
                &handle.sig,
                "expected `fn handle(&mut self, message: M, ctx: &mut Self::Context)`",
            ));
        }
    };
    Ok(HandlerImpl {
        item,
        trait_path,
        message,
        result,
        context,
    })
}

fn response(result: &Type) -> syn::Result<Response> {
    let name = match result {
        Type::Path(TypePath { path, .. }) => path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    };
    match name.as_deref() {
        Some("ResponseFuture") => Ok(Response::Future),
        Some("MessageResult") => Ok(Response::MessageResult),
        Some("ResponseActFuture") => Ok(Response::ActorFuture),
        // spanflow_actix::AtomicResponse (actix's hides its future; using it
        // here is a type error naming the expected type).
        Some("AtomicResponse") => Ok(Response::Atomic),
        _ => Ok(Response::Value),
    }
}

fn expand(parts: &HandlerImpl<'_>, name: Option<&LitStr>) -> syn::Result<TokenStream> {
    let HandlerImpl {
        item,
        trait_path,
        message,
        result,
        context,
    } = parts;
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    let self_ty = &item.self_ty;
    let traced_trait = traced_trait_path(trait_path, message);
    let response = response(result)?;
    let finish = match response {
        Response::Value => quote!(finish_value),
        Response::MessageResult => quote!(finish_message_result),
        Response::Future => quote!(finish_future),
        Response::ActorFuture => quote!(finish_act_future),
        Response::Atomic => quote!(finish_atomic),
    };
    let result = match response {
        Response::MessageResult => {
            quote!(::spanflow_actix::__private::MessageResult<::spanflow_actix::Traced<#message>>)
        }
        Response::Value | Response::Future | Response::ActorFuture | Response::Atomic => {
            result.to_token_stream()
        }
    };
    let actor_name = type_name(self_ty);
    let message_name = type_name(message);
    let span_name = name.map_or_else(
        || format!("{actor_name} handle {message_name}"),
        LitStr::value,
    );
    Ok(quote! {
        impl #impl_generics #traced_trait for #self_ty #where_clause {
            type Result = #result;

            fn handle(
                &mut self,
                __spanflow_traced: ::spanflow_actix::Traced<#message>,
                __spanflow_context: #context,
            ) -> Self::Result {
                static __SPANFLOW_CALLSITE: ::spanflow_actix::__private::CallSite =
                    ::spanflow_actix::__private::CallSite::new(
                        ::spanflow_actix::__private::Naming::Fixed {
                            name: #span_name,
                            function: ::core::concat!(::core::module_path!(), "::", #actor_name, "::handle"),
                        },
                        ::core::file!(),
                        ::core::line!(),
                        ::spanflow_actix::__private::Kind::Consumer,
                    );
                let (__spanflow_message, __spanflow_span) =
                    ::spanflow_actix::__private::begin(__spanflow_traced, &__SPANFLOW_CALLSITE);
                ::spanflow_actix::__private::#finish(__spanflow_span, move || {
                    <Self as #trait_path>::handle(self, __spanflow_message, __spanflow_context)
                })
            }
        }
    })
}

/// `actix::Handler<M>` becomes `actix::Handler<::spanflow_actix::Traced<M>>`.
fn traced_trait_path(trait_path: &Path, message: &Type) -> Path {
    let mut traced = trait_path.clone();
    if let Some(last) = traced.segments.last_mut() {
        last.arguments =
            PathArguments::AngleBracketed(syn::parse_quote!(<::spanflow_actix::Traced<#message>>));
    }
    traced
}

/// The type as written, without spaces: `Cache<T>` rather than `Cache < T >`.
fn type_name(ty: &Type) -> String {
    ty.to_token_stream().to_string().replace(' ', "")
}

fn with_original(error: Error, input: TokenStream) -> TokenStream {
    let mut output = error.to_compile_error();
    output.extend(input);
    output
}
