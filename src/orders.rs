//! The app's domain: what an order message, a click record and a repository change look like.

use serde::Deserialize;

/// An order as producers put it on the queue.
#[derive(Debug, Deserialize)]
pub struct Order {
    pub id: String,
    pub items: Vec<LineItem>,
}

#[derive(Debug, Deserialize)]
pub struct LineItem {
    pub sku: String,
    pub quantity: u32,
    /// Unit price in cents.
    pub price_cents: u64,
}

impl Order {
    /// The order's total in cents.
    pub fn total_cents(&self) -> u64 {
        self.items
            .iter()
            .map(|i| u64::from(i.quantity).saturating_mul(i.price_cents))
            .fold(0, u64::saturating_add)
    }
}

/// A click as the web tier writes it to the stream.
#[derive(Debug, Deserialize)]
pub struct Click {
    pub page: String,
    #[serde(default)]
    pub user: Option<String>,
}

/// The part of a CodeCommit state-change event the app reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryChange {
    pub repository_name: String,
    #[serde(default)]
    pub reference_name: Option<String>,
    #[serde(default)]
    pub event: Option<String>,
}

/// An audit row in the `orders` table.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderRow {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_sums_line_items() {
        let order: Order = serde_json::from_str(
            r#"{"id": "o-1", "items": [{"sku": "a", "quantity": 2, "price_cents": 150}, {"sku": "b", "quantity": 1, "price_cents": 99}]}"#,
        )
        .unwrap();
        assert_eq!(order.total_cents(), 399);
    }
}
