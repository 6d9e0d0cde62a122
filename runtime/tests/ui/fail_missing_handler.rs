// Forgetting a handler declared in events.chalice is a compile error naming it.

mod generated {
    include!("generated/handlers.rs");
}

use chalice_runtime::prelude::*;

struct Shop;

impl generated::Handlers for Shop {
    async fn tick(&self, _event: ScheduleEvent, _ctx: Context) -> Result<(), Error> {
        Ok(())
    }
}

fn main() {
    let _ = generated::run(Shop);
}
