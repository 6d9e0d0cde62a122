// Handler futures must be `Send`: holding an `Rc` across an `.await` is refused.

mod generated {
    include!("generated/handlers.rs");
}

use chalice_runtime::prelude::*;
use std::rc::Rc;

struct Shop;

async fn audit() {}

impl generated::Handlers for Shop {
    async fn tick(&self, _event: ScheduleEvent, _ctx: Context) -> Result<(), Error> {
        let local = Rc::new(1);
        audit().await;
        drop(local);
        Ok(())
    }

    async fn on_order(&self, _event: SqsEvent, _ctx: Context) -> Result<BatchResult, Error> {
        Ok(BatchResult::ok())
    }
}

fn main() {
    let _ = generated::run(Shop);
}
