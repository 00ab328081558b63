-- Each community number names the carrier that sends from it and posts its webhooks (gateway/carriers/; the
-- names are the configuration's: carrier.name, carrier.also). Null: the gateway's default carrier
-- (carrier.name), which is what every number used before. Names are checked by the API against the carriers
-- configured, not here: a carrier can be configured later, or no longer.
ALTER TABLE community_numbers ADD COLUMN carrier text CHECK (carrier <> '');
