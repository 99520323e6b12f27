/** Settings read before the application context exists, by the names, defaults and constraints Micronaut binds them with. */
package io.knllama.config;
