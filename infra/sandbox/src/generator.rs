//! Background order traffic: new orders, payment releases and cancellations.

use chrono::{DateTime, Duration, Utc};

use crate::model::{NewOrder, State, Status};

/// Upper bound of orders created per seller in one tick, so a long pause (e.g. a
/// suspended laptop) does not flood the store.
const MAX_CATCH_UP: u32 = 20;

impl State {
    pub(crate) fn tick(&mut self, now: DateTime<Utc>) {
        let Some(cfg) = self.config.generator.clone() else {
            return;
        };
        // Decide the fate of old enough orders first, so an order created in this tick
        // always shows up in its initial state at least once.
        let release_after = Duration::from_std(cfg.release_after).unwrap_or(Duration::zero());
        let due: Vec<String> = self
            .orders
            .iter()
            .filter(|o| !o.settled && o.created + release_after <= now)
            .map(|o| o.id.clone())
            .collect();
        for id in due {
            // Drawn for malformed orders too, so fault injection leaves the fate of the
            // other orders as it would be without it.
            let cancel = self.gen_rng.percent(cfg.cancel_percent);
            let status = self.order(&id).filter(|o| o.malformed.is_none()).map(|o| o.status);
            if cancel && matches!(status, Some(Status::Pending | Status::Unshipped)) {
                self.cancel(&id, now);
            } else if matches!(status, Some(Status::Pending)) {
                self.release(&id, now);
            }
            if let Some(o) = self.order_mut(&id) {
                o.settled = true;
            }
        }

        let every = Duration::from_std(cfg.new_order_every)
            .unwrap_or(Duration::seconds(30))
            .max(Duration::milliseconds(1));
        let mut next = self.next_generated_at.unwrap_or(now);
        let mut created = 0;
        while next <= now && created < MAX_CATCH_UP {
            let sellers: Vec<String> = self.sellers.iter().map(|s| s.seller_id.clone()).collect();
            for seller_id in sellers {
                let pending = self.gen_rng.percent(cfg.pending_percent);
                let order =
                    if pending { NewOrder::pending(Vec::new()) } else { NewOrder::released(Vec::new()) };
                self.create_order(&seller_id, order, now);
            }
            next += every;
            created += 1;
        }
        if next <= now {
            next = now + every;
        }
        self.next_generated_at = Some(next);
    }
}
