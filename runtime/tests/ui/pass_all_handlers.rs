// Every handler implemented with `async fn`, the conveniences in scope through the prelude.

mod generated {
    include!("generated/handlers.rs");
}

use chalice_runtime::prelude::*;

struct Shop;

impl generated::Handlers for Shop {
    async fn tick(&self, event: ScheduleEvent, ctx: Context) -> Result<(), Error> {
        let _ = (event.detail_type, ctx.handler());
        Ok(())
    }

    async fn on_order(&self, event: SqsEvent, _ctx: Context) -> Result<BatchResult, Error> {
        Ok(event
            .records
            .iter()
            .filter(|m| m.body_json::<serde_json::Value>().is_err())
            .map(|m| m.message_id())
            .collect())
    }
}

fn main() {
    assert_eq!(generated::HANDLERS, ["tick", "on_order"]);
    let manifest = chalice_codegen::manifest::find(generated::MANIFEST).unwrap().unwrap();
    assert_eq!(manifest, chalice_codegen::manifest::Manifest {
        app: "shop".into(),
        handlers: vec![
            chalice_codegen::manifest::HandlerEntry { name: "tick".into(), kind: chalice_codegen::ast::Kind::Schedule },
            chalice_codegen::manifest::HandlerEntry { name: "on_order".into(), kind: chalice_codegen::ast::Kind::Queue },
        ],
    });
    // The entry points accept the impl (not called: they would serve the Runtime API).
    let _run: fn(Shop) -> std::process::ExitCode = generated::run::<Shop>;
    let _serve = generated::serve::<Shop>;
    let _serve_handler = generated::serve_handler::<Shop>;
}
