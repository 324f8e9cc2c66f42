# The instance pool's two-thread churn test also runs under ThreadSanitizer.
if(TARGET test_instance_pool)
  set_tests_properties(test_instance_pool PROPERTIES LABELS "unit;threads")
endif()
