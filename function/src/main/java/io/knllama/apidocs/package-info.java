/**
 * The OpenAPI description's front matter. The spec itself is generated from the controllers' annotations at
 * compile time (micronaut-openapi) and served with Swagger UI, Redoc and Scalar; see application.properties.
 */
package io.knllama.apidocs;
