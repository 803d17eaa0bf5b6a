"""DynamoDB: keys, table schema, items, the store port and its adapters."""
