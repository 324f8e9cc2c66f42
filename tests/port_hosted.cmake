# The hosted port's lock test is threaded: run it under TSan too.
if(TARGET test_port_hosted)
  set_tests_properties(test_port_hosted PROPERTIES LABELS "unit;threads")
endif()
