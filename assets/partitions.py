import dagster as dg

#: survey waves, one partition per wave id declared in study.yaml (added by the CLI or sensor)
survey_waves = dg.DynamicPartitionsDefinition(name="survey_wave")
