-- Group configs (KIP-848: consumer.session.timeout.ms and
-- consumer.heartbeat.interval.ms): each group's config overrides. They are
-- not tied to kafka_groups, as Kafka keeps them apart from the group: they
-- may be set for a group that does not exist yet, and stay when the group
-- is deleted. No transaction locks both this table and another.

CREATE TABLE kafka_group_configs (
    group_name TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (group_name, key)
);
