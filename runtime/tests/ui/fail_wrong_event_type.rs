// A handler must take the event its binding delivers: `on_order` is a queue, not a topic.

mod generated {
    include!("generated/handlers.rs");
}

use chalice_runtime::prelude::*;

struct Shop;

impl generated::Handlers for Shop {
    async fn tick(&self, _event: ScheduleEvent, _ctx: Context) -> Result<(), Error> {
        Ok(())
    }

    async fn on_order(&self, _event: SnsEvent, _ctx: Context) -> Result<BatchResult, Error> {
        Ok(BatchResult::ok())
    }
}

fn main() {
    let _ = generated::run(Shop);
}
