//! The default texts of the `fatal_errors` rules: the first lines of the errors of Cypress
//! 12.17.4's own catalogue (`packages/errors/src/errors.ts` in the public Cypress
//! repository, tag v12.17.4) after which `cypress run` exits without `(Run Finished)`
//! (contract §5, the fatal-error row). Each comment names the catalogue's keys.
//!
//! Each text must begin its line (column 0 once colour codes and a timestamp are removed).
//! A text is the message's literal start, before any variable part. Left out on purpose:
//! `You've exceeded the limit of` (the grace-period warnings print the same first line
//! before `(Run Starting)` and the run goes on), `We encountered an unexpected internal
//! error.` (also printed as a warning), `Port ` (too short to be safe), the component-testing
//! texts, the CLI's own messages (they go to stderr), and the message of a throwing
//! `before:browser:launch` handler (nothing marks it as Cypress's: `--pid` and the hung
//! timeout end such a run). `Can't run because no spec files were found` and `Cypress
//! failed to verify that your server is running` have their own rule (`failed_to_start`).

pub(crate) const FATAL_ERRORS: &[&str] = &[
    // Configuration and project, before `(Run Starting)`.
    // CONFIG_VALIDATION_ERROR
    "Your configFile at ",
    // CONFIG_VALIDATION_MSG_ERROR
    "Your configFile as ",
    // CONFIG_VALIDATION_ERROR, CONFIG_VALIDATION_MSG_ERROR
    "An invalid configuration value was set",
    // CONFIG_FILE_REQUIRE_ERROR, SETUP_NODE_EVENTS_IS_NOT_FUNCTION, SETUP_NODE_EVENTS_DO_NOT_SUPPORT_DEV_SERVER
    "Your configFile is invalid: ",
    // CONFIG_FILE_SETUP_NODE_EVENTS_ERROR, CONFIG_FILE_UNEXPECTED_ERROR
    "Your configFile threw an error from: ",
    // SETUP_NODE_EVENTS_INVALID_EVENT_NAME_ERROR
    "Your configFile threw a validation error from: ",
    // CONFIG_FILES_LANGUAGE_CONFLICT
    "Could not load a Cypress configuration file because there are multiple matches.",
    // CONFIG_FILE_NOT_FOUND, NO_DEFAULT_CONFIG_FILE_FOUND
    "Could not find a Cypress configuration file",
    // CONFIG_FILE_MIGRATION_NEEDED
    "There is a cypress.json file at the path: ",
    // LEGACY_CONFIG_FILE
    "There is both a ",
    // MIGRATION_ALREADY_OCURRED
    "You are attempting to use Cypress with an older config file: ",
    // TESTING_TYPE_NOT_CONFIGURED
    "The testing type selected (",
    // MULTIPLE_SUPPORT_FILES_FOUND
    "There were multiple support files found matching your supportFile pattern.",
    // SUPPORT_FILE_NOT_FOUND
    "Your supportFile is missing or invalid: ",
    // DEFAULT_SUPPORT_FILE_NOT_FOUND
    "Your project does not contain a default supportFile.",
    // INVALID_REPORTER_NAME
    "Error loading the reporter: ",
    // ERROR_READING_FILE
    "Error reading from: ",
    // COULD_NOT_PARSE_ARGUMENTS
    "Cypress encountered an error while parsing the argument: ",
    // INVALID_CYPRESS_INTERNAL_ENV
    "We have detected an unknown or unsupported CYPRESS_INTERNAL_ENV value: ",
    // NO_PROJECT_FOUND_AT_PROJECT_ROOT
    "Can't find a project at the path: ",
    // BROWSER_NOT_FOUND_BY_NAME
    "Can't run because you've entered an invalid browser name.",
    // BROWSER_NOT_FOUND_BY_PATH
    "We could not identify a known browser at the path you provided: ",
    // UNSUPPORTED_BROWSER_VERSION
    "Cypress does not support running ",
    // Configuration options removed or moved by Cypress 10 (`isWarning: false` in
    // `packages/config/src/options.ts`).
    // CONFIG_FILE_INVALID_ROOT_CONFIG_E2E
    "The baseUrl configuration option is now invalid when set from the root of the config object in Cypress version 10.0.0.",
    // CONFIG_FILE_INVALID_ROOT_CONFIG
    "The specPattern configuration option is now invalid when set from the root of the config object in Cypress version 10.0.0.",
    // CONFIG_FILE_INVALID_ROOT_CONFIG
    "The excludeSpecPattern configuration option is now invalid when set from the root of the config object in Cypress version 10.0.0.",
    // CONFIG_FILE_INVALID_ROOT_CONFIG
    "The supportFile configuration option is now invalid when set from the root of the config object in Cypress version 10.0.0.",
    // CONFIG_FILE_INVALID_ROOT_CONFIG
    "The slowTestThreshold configuration option is now invalid when set from the root of the config object in Cypress version 10.0.0.",
    // CONFIG_FILE_INVALID_ROOT_CONFIG
    "The testIsolation configuration option is now invalid when set from the root of the config object in Cypress version 10.0.0.",
    // CONFIG_FILE_INVALID_ROOT_CONFIG_COMPONENT
    "The indexHtmlFile configuration option is now invalid when set from the root of the config object in Cypress version 10.0.0.",
    // TEST_FILES_RENAMED
    "The testFiles configuration option is now invalid when set on the config object in Cypress version 10.0.0.",
    // TEST_FILES_RENAMED
    "The ignoreTestFiles configuration option is now invalid when set on the config object in Cypress version 10.0.0.",
    // INTEGRATION_FOLDER_REMOVED
    "The integrationFolder configuration option is now invalid when set on the config object in Cypress version 10.0.0.",
    // COMPONENT_FOLDER_REMOVED
    "The componentFolder configuration option is now invalid when set on the config object in Cypress version 10.0.0.",
    // PLUGINS_FILE_CONFIG_OPTION_REMOVED
    "The pluginsFile configuration option you have supplied has been replaced with setupNodeEvents.",
    // RENAMED_CONFIG_OPTION
    "The blacklistHosts configuration option you have supplied has been renamed.",
    // EXPERIMENTAL_COMPONENT_TESTING_REMOVED
    "The experimentalComponentTesting configuration option was removed in Cypress version 7.0.0.",
    // CONFIG_FILE_INVALID_TESTING_TYPE_CONFIG_E2E
    "The e2e.indexHtmlFile configuration option is not valid for e2e testing.",
    // CONFIG_FILE_INVALID_TESTING_TYPE_CONFIG_COMPONENT
    "The component.baseUrl configuration option is not valid for component testing.",
    // CONFIG_FILE_INVALID_TESTING_TYPE_CONFIG_COMPONENT
    "The component.testIsolation configuration option is not valid for component testing.",
    // EXPERIMENTAL_RUN_ALL_SPECS_E2E_ONLY
    "The experimentalRunAllSpecs experiment is currently only supported for End to End Testing",
    // EXPERIMENTAL_ORIGIN_DEPENDENCIES_E2E_ONLY
    "The experimentalOriginDependencies experiment is currently only supported for End to End Testing",
    // EXPERIMENTAL_USE_DEFAULT_DOCUMENT_DOMAIN_E2E_ONLY
    "The experimentalSkipDomainInjection experiment is currently only supported for End to End Testing",
    // EXPERIMENTAL_SINGLE_TAB_RUN_MODE
    "The experimentalSingleTabRunMode experiment is currently only supported for Component Testing.",
    // EXPERIMENTAL_STUDIO_E2E_ONLY
    "The experimentalStudio experiment is currently only supported for End to End Testing.",
    // Recording to the Cypress Cloud: before `(Run Starting)`, and (the last one) also after a
    // spec's `Running:` or `(Results)`; its retry warning has the same first line and is
    // followed by `We will retry`, which `run_goes_on` holds.
    // RECORD_KEY_MISSING, CANNOT_RECORD_NO_PROJECT_ID
    "You passed the --record flag but ",
    // RECORD_PARAMS_WITHOUT_RECORDING
    "You passed the --ci-build-id, --group, --tag, --parallel, or --auto-cancel-after-failures flag without also passing the --record flag.",
    // INCORRECT_CI_BUILD_ID_USAGE
    "You passed the --ci-build-id flag but did not provide either a --group or --parallel flag.",
    // INDETERMINATE_CI_BUILD_ID
    "You passed the --group or --parallel flag but we could not automatically determine or generate a ciBuildId.",
    // CLOUD_RECORD_KEY_NOT_VALID
    "Your Record Key ",
    // CLOUD_PROJECT_NOT_FOUND
    "We could not find a Cypress Cloud project with the projectId: ",
    // CLOUD_INVALID_RUN_REQUEST
    "Recording this run failed. The request was invalid.",
    // CLOUD_RUN_GROUP_NAME_NOT_UNIQUE
    "You passed the --group flag, but this group name has already been used for this run.",
    // CLOUD_PARALLEL_DISALLOWED, CLOUD_PARALLEL_GROUP_PARAMS_MISMATCH
    "You passed the --parallel flag, but ",
    // CLOUD_PARALLEL_REQUIRED
    "You did not pass the --parallel flag, but this run's group was originally created with the --parallel flag.",
    // CLOUD_ALREADY_COMPLETE
    "The run you are attempting to access is already complete and will not accept new groups.",
    // CLOUD_STALE_RUN
    "You are attempting to pass the --parallel flag to a run that was completed over 24 hours ago.",
    // CLOUD_AUTO_CANCEL_MISMATCH
    "You passed the --auto-cancel-after-failures flag, but this run originally started with a different value",
    // CLOUD_AUTO_CANCEL_NOT_AVAILABLE_IN_PLAN
    "Auto Cancellation is not included under your current billing plan.",
    // PARALLEL_FEATURE_NOT_AVAILABLE_IN_PLAN
    "Parallelization is not included under your current billing plan.",
    // RUN_GROUPING_FEATURE_NOT_AVAILABLE_IN_PLAN
    "Grouping is not included under your current billing plan.",
    // FREE_PLAN_EXCEEDS_MONTHLY_PRIVATE_TESTS, FREE_PLAN_EXCEEDS_MONTHLY_TESTS
    "To continue recording tests this month you must upgrade your account.",
    // CLOUD_CANNOT_PROCEED_IN_PARALLEL, CLOUD_CANNOT_PROCEED_IN_SERIAL, CLOUD_UNKNOWN_INVALID_REQUEST
    "We encountered an unexpected error communicating with our servers.",
    // After `(Run Starting)`: a plugins' run event, the browser's launch.
    // PLUGINS_RUN_EVENT_ERROR
    "An error was thrown in your plugins file while executing the handler for the ",
    // UNEXPECTED_BEFORE_BROWSER_LAUNCH_PROPERTIES
    "The launchOptions object returned by your plugin's before:browser:launch handler contained unexpected properties:",
    // CDP_COULD_NOT_CONNECT
    "Cypress failed to make a connection to the Chrome DevTools Protocol after retrying for 50 seconds.",
    // CDP_VERSION_TOO_OLD
    "A minimum CDP version of ",
    // CDP_COULD_NOT_RECONNECT
    "There was an error reconnecting to the Chrome DevTools protocol.",
    // FIREFOX_COULD_NOT_CONNECT
    "Cypress failed to make a connection to Firefox.",
    // FIREFOX_MARIONETTE_FAILURE
    "Cypress could not connect to Firefox.",
];

/// Lines after a fatal error's first line that say the run went on: a spec's results, or
/// the Cypress Cloud retrying (`We will retry 3 more times in 30 seconds...`). `Running:`
/// and `(Run Finished)` count too (their own rules).
pub(crate) const RUN_GOES_ON: &[&str] = &["(Results)", "We will retry"];
