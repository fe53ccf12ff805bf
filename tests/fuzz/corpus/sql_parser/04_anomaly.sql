SELECT car_id, event_id, ANOMALY(sensor_input) FROM car_sensor EMIT CHANGES;
